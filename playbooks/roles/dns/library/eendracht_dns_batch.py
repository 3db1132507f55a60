#!/usr/bin/python
"""DNS cut-over in one batched, TSIG-signed RFC 2136 update (nsupdate), with rollback state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_dns_batch
short_description: Lower TTLs, cut over, restore or verify DNS records in one nsupdate batch
description:
  - Reads the current answers of every record that cuts over (one signed AXFR of the zone, or
    one C(dig -f) batch when transfers are refused), keeps the originals
    (values and TTLs) in O(state_file) the first time, and sends all changes of all zones in
    one C(nsupdate -k) run (one signed update message per zone).
  - community.general.nsupdate changes one record per call; this module batches them.
  - O(state=lowered) sets the cut-over TTL on the current values; O(state=cutover) replaces the
    values by the new ones; O(state=restored) puts back the original values and TTLs;
    O(state=verify) checks the answers equal the new values, O(state=verify_source) that they
    equal the programme's original values (after a rollback); O(state=check) queries every SOA and
    sends a signed update that only holds a prerequisite (changes nothing).
  - Idempotent: records already as wanted are left out of the batch.
options:
  state: {description: what to do, type: str, choices: [lowered, cutover, restored, verify, verify_source, check], default: cutover}
  server: {description: DNS server taking updates, type: str, required: true}
  port: {description: its port, type: int, default: 53}
  key_file: {description: TSIG key file (nsupdate -k), type: path, required: true}
  zones: {description: "zones: name, cutover_ttl, records (name, type, value, ttl, cutover_to or cutover_output)", type: list, elements: dict, required: true}
  state_file: {description: JSON file keeping the original records for rollback, type: path, required: true}
  outputs: {description: stack outputs, for records whose new value is a cutover_output, type: dict, default: {}}
  timeout: {description: seconds each dig or nsupdate run may take before the module fails, type: int, default: 120}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: records_updated, records_unchanged, records_verified
  type: dict
  returned: always
"""

import json
import os
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

HOSTNAME_TYPES = ("CNAME", "MX", "SRV", "NS", "PTR")


def fqdn(name, zone):
    return zone + "." if name == "@" else f"{name}.{zone}."


def normalise(rtype, value):
    value = " ".join(str(value).split())
    if rtype in HOSTNAME_TYPES and not value.endswith("."):
        value += "."
    if rtype == "TXT" and not value.startswith('"'):
        value = f'"{value}"'
    return value


def run_tool(module, argv, what, input_text=None):
    """One dig or nsupdate run, ended (and the module failed) after the `timeout` option."""
    timeout = module.params["timeout"]
    try:
        return subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        module.fail_json(msg=f"{what} timed out after {timeout} s")


def query(module, server, port, name, rtype):
    return query_all(module, server, port, [(name, rtype)])[(name.lower(), rtype)]


def zone_transfer(module, server, port, key_file, zone):
    """Every record of the zone in one signed AXFR; None when the server refuses it."""
    argv = ["dig", "+noall", "+answer", "-p", str(port), f"@{server}", "-k", key_file, zone + ".", "AXFR"]
    done = run_tool(module, argv, f"dig AXFR of {zone} @{server}")
    if done.returncode != 0 or "Transfer failed" in done.stdout or not done.stdout.strip():
        return None
    return parse_answers(done.stdout, None)


def parse_answers(text, wanted):
    answers = {} if wanted is None else {(name.lower(), rtype): ([], None) for name, rtype in wanted}
    for line in text.splitlines():
        parts = line.split(None, 4)
        if len(parts) != 5 or line.startswith(";"):
            continue
        key = (parts[0].lower(), parts[3].upper())
        if wanted is not None and key not in answers:
            continue
        values, _ = answers.get(key, ([], None))
        values.append(" ".join(parts[4].split()))
        answers[key] = (values, int(parts[1]))
    return {key: (sorted(values), ttl) for key, (values, ttl) in answers.items()}


def read_records(module, server, port, key_file, zone, wanted):
    """Current answers for the wanted (name, type) pairs: one AXFR, else one `dig -f` batch."""
    whole = zone_transfer(module, server, port, key_file, zone)
    if whole is None:
        return query_all(module, server, port, wanted)
    return {(n.lower(), t): whole.get((n.lower(), t), ([], None)) for n, t in wanted}


def query_all(module, server, port, wanted):
    """Answers of many (name, type) questions from one dig process (`dig -f`)."""
    batch = "".join(f"{name} {rtype}\n" for name, rtype in wanted)
    argv = ["dig", "+noall", "+answer", "+norecurse", "-p", str(port), f"@{server}", "-f", "-"]
    done = run_tool(module, argv, f"dig @{server}", batch)
    if done.returncode != 0:
        module.fail_json(msg=f"dig @{server} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return parse_answers(done.stdout, wanted)


# An update message travels over TCP and is at most 64 KiB: larger batches are sent in parts,
# never splitting an rrset between its delete and its adds.
MAX_LINES_PER_MESSAGE = 600


def messages(groups):
    part, size = [], 0
    for group in groups:
        if part and size + len(group) > MAX_LINES_PER_MESSAGE:
            yield part
            part, size = [], 0
        part.extend(group)
        size += len(group)
    if part:
        yield part


def nsupdate(module, server, port, key_file, batches):
    """batches: {zone: [rrset line groups]}; one nsupdate run, one signed message per part."""
    script = [f"server {server} {port}"]
    for zone, groups in batches.items():
        for part in messages(groups):
            script += [f"zone {zone}", *part, "send"]
    if len(script) == 1:
        return
    done = run_tool(module, ["nsupdate", "-v", "-k", key_file], f"nsupdate to {server}", "\n".join(script) + "\n")
    if done.returncode != 0:
        module.fail_json(msg=f"nsupdate failed: {(done.stderr or done.stdout).strip()[-500:]}")


def new_value_of(module, record, outputs):
    if record.get("cutover_to"):
        return record["cutover_to"]
    name = record.get("cutover_output")
    if not name:
        return None
    if name not in outputs:
        module.fail_json(msg=f"record {record['name']} {record['type']}: no stack output {name!r}")
    value = outputs[name]
    if record["type"].upper() == "MX" and " " not in str(value):
        value = f"0 {value}"
    return str(value)


def rrset_lines(name, rtype, ttl, values):
    lines = [f"update delete {name} {rtype}"]
    lines += [f"update add {name} {ttl} {rtype} {v}" for v in values]
    return lines


def load_state(path):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    return {}


def save_state(path, state):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "default": "cutover", "choices": ["lowered", "cutover", "restored", "verify", "verify_source", "check"]},
            "server": {"type": "str", "required": True},
            "port": {"type": "int", "default": 53},
            "key_file": {"type": "path", "required": True},
            "zones": {"type": "list", "elements": "dict", "required": True},
            "state_file": {"type": "path", "required": True},
            "outputs": {"type": "dict", "default": {}},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    p = module.params
    server, port, state = p["server"], p["port"], p["state"]
    originals = load_state(p["state_file"])
    batches, counts, wrong = {}, {"records_updated": 0, "records_unchanged": 0, "records_verified": 0}, []
    if state == "check":
        for zone in p["zones"]:
            soa, _ = query(module, server, port, zone["name"] + ".", "SOA")
            if not soa:
                module.fail_json(msg=f"no SOA for {zone['name']} on {server}:{port}")
            batches[zone["name"]] = [[f"prereq yxdomain {zone['name']}."]]
        if not module.check_mode:
            nsupdate(module, server, port, p["key_file"], batches)
        module.exit_json(changed=False, eendracht_counts={"zones_checked": len(p["zones"])})
    recorded_now = False
    read_seconds = 0.0
    for zone in p["zones"]:
        lines = []
        moving = []
        for record in zone["records"]:
            new_value = new_value_of(module, record, p["outputs"])
            if new_value is not None:  # else this record does not cut over
                moving.append((record, new_value, fqdn(record["name"], zone["name"]), record["type"].upper()))
        started = time.monotonic()
        answers = read_records(
            module, server, port, p["key_file"], zone["name"], [(name, rtype) for _, _, name, rtype in moving]
        )
        read_seconds += time.monotonic() - started
        for record, new_value, name, rtype in moving:
            key = f"{name} {rtype}"
            values, ttl = answers[(name.lower(), rtype)]
            new = [normalise(rtype, new_value)]
            if state == "verify_source":
                new = [normalise(rtype, record["value"])]
            if state in ("verify", "verify_source"):
                if values == new:
                    counts["records_verified"] += 1
                else:
                    wrong.append(f"{key}: {values} instead of {new}")
                continue
            if key not in originals:
                if state == "restored":
                    continue  # never changed by this wave
                # The first time the wave touches a record, what it was is kept for rollback.
                originals[key] = {"values": values, "ttl": ttl if ttl is not None else record["ttl"]}
                recorded_now = True
            original = originals[key]
            if state == "lowered":
                want_values = values or original["values"]
                want_ttl = min(zone["cutover_ttl"], original["ttl"])
            elif state == "cutover":
                want_values, want_ttl = new, zone["cutover_ttl"]
            else:  # restored
                want_values, want_ttl = original["values"], original["ttl"]
            if sorted(values) == sorted(want_values) and ttl == want_ttl:
                counts["records_unchanged"] += 1
                continue
            lines.append(rrset_lines(name, rtype, want_ttl, want_values))
            counts["records_updated"] += 1
        batches[zone["name"]] = lines
    if wrong:
        module.fail_json(msg=f"{len(wrong)} records do not answer the new value: {'; '.join(wrong[:10])}", eendracht_counts=counts)
    if state == "verify" and not counts["records_verified"]:
        module.fail_json(msg="nothing to verify: no record of these zones cuts over", eendracht_counts=counts)
    if module.check_mode:
        module.exit_json(changed=counts["records_updated"] > 0, eendracht_counts=counts)
    if recorded_now:
        save_state(p["state_file"], originals)
    started = time.monotonic()
    nsupdate(module, server, port, p["key_file"], batches)
    counts["dns_read_ms"] = round(read_seconds * 1000)
    counts["dns_update_ms"] = round((time.monotonic() - started) * 1000)
    if state == "restored" and os.path.exists(p["state_file"]):
        os.unlink(p["state_file"])  # restored: the next wave records afresh
    module.exit_json(changed=counts["records_updated"] > 0, eendracht_counts=counts)


if __name__ == "__main__":
    main()
