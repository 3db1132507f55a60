#!/usr/bin/python
"""Traffic Manager's priority switch as DNS: every profile's record points at one site."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_traffic_manager
short_description: Point every Traffic Manager profile at the primary or the fallback site, or check where they point
description:
  - A profile is one name in O(zone) whose A record is the address of the endpoint with the highest priority
    that is up; a drill switches all of them to O(site) in one TSIG-signed RFC 2136 update, with the profile's
    low TTL, and reads them back. Only records not already pointing at O(site) are changed (idempotent).
  - O(state=verify) changes nothing and fails unless every profile answers with O(site)'s address.
  - The DNS work is C(module_utils/eendracht_dns.py) (dnspython), shared with the dns role.
options:
  state: {description: switch or verify, type: str, choices: [switched, verify], default: switched}
  site: {description: the site every profile should point at, type: str, choices: [primary, fallback], required: true}
  server: {description: the DNS server of the profiles, type: str, required: true}
  port: {description: its port, type: int, default: 53}
  key_file: {description: HMAC-TSIG key file (never its contents), type: path, required: true}
  zone: {description: the profiles' zone, type: str, required: true}
  ttl: {description: the records' TTL in seconds, type: int, default: 30}
  profiles: {description: "name -> primary, fallback (addresses), municipality, application", type: dict, required: true}
  timeout: {description: seconds for each exchange, type: int, default: 30}
author: eendracht
"""

RETURN = r"""
addresses:
  description: profile -> the address it answers with (after the switch)
  type: dict
  returned: always
eendracht_counts:
  description: records_updated, records_unchanged, records_verified
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_dns import DnsBatchError, fqdn, query_all, read_key, rrset_lines, send_updates


def answers(p):
    wanted = [(fqdn(name, p["zone"]), "A") for name in p["profiles"]]
    found = query_all(p["server"], p["port"], wanted, p["timeout"])
    return {name: sorted(found[(fqdn(name, p["zone"]).lower(), "A")][0]) for name in p["profiles"]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="switched", choices=["switched", "verify"]),
            site=dict(type="str", required=True, choices=["primary", "fallback"]),
            server=dict(type="str", required=True),
            port=dict(type="int", default=53),
            key_file=dict(type="path", required=True, no_log=False),
            zone=dict(type="str", required=True),
            ttl=dict(type="int", default=30),
            profiles=dict(type="dict", required=True),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    site = p["site"]
    try:
        current = answers(p)
        stale = {name: prof[site] for name, prof in p["profiles"].items() if current[name] != [prof[site]]}
        counts = {"records_updated": 0, "records_unchanged": len(p["profiles"]) - len(stale), "records_verified": 0}
        if p["state"] == "verify":
            if stale:
                listed = ", ".join(f"{n} answers {current[n] or 'nothing'}" for n in sorted(stale))
                module.fail_json(msg=f"not every profile points at the {site} site: {listed}", addresses=current)
            counts["records_verified"] = len(p["profiles"])
            module.exit_json(changed=False, addresses=current, eendracht_counts=counts)
        if stale and not module.check_mode:
            key = read_key(p["key_file"])
            lines = [rrset_lines(fqdn(name, p["zone"]), "A", p["ttl"], [address]) for name, address in stale.items()]
            send_updates(p["server"], p["port"], key, {p["zone"]: lines}, p["timeout"])
            current = answers(p)
            wrong = sorted(n for n, address in stale.items() if current[n] != [address])
            if wrong:
                module.fail_json(msg=f"updated but still not at the {site} site: {', '.join(wrong)}")
        counts["records_updated"] = len(stale)
    except DnsBatchError as failure:
        module.fail_json(msg=failure.msg)
    module.exit_json(changed=bool(stale), addresses=current, eendracht_counts=counts)


if __name__ == "__main__":
    main()
