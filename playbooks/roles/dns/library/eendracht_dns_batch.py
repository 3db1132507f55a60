#!/usr/bin/python
"""DNS cut-over in one batched, TSIG-signed RFC 2136 update, with rollback state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_dns_batch
short_description: Lower TTLs, cut over, restore or verify DNS records in one signed batch
description:
  - Reads the current answers of every record that cuts over (one signed AXFR of the zone, or
    one question per record over one connection when transfers are refused), keeps the originals
    (values and TTLs) in O(state_file) the first time, and sends all changes of all zones as
    signed RFC 2136 update messages over one connection (the lines C(nsupdate -k) would take,
    one message per 600 lines at most), checking the TSIG of every answer.
  - community.general.nsupdate changes one record per call; this module batches them.
  - O(state=lowered) sets the cut-over TTL on the current values; O(state=cutover) replaces the
    values by the new ones; O(state=restored) puts back the original values and TTLs;
    O(state=verify) checks the answers equal the new values, O(state=verify_source) that they
    equal the programme's original values (after a rollback); O(state=check) queries every SOA and
    sends a signed update that only holds a prerequisite (changes nothing).
  - Idempotent: records already as wanted are left out of the batch.
  - The role runs the same code in its action plugin of this name, in Ansible's worker on the
    controller; the work is in C(module_utils/eendracht_dns.py), which speaks DNS through dnspython.
requirements:
  - dnspython (a dependency of eendracht; the module runs delegated to the controller, with its interpreter)
  - gssapi, for O(kerberos) (a dependency of eendracht)
options:
  state: {description: what to do, type: str, choices: [lowered, cutover, restored, verify, verify_source, check], default: cutover}
  server: {description: DNS server taking updates, type: str, required: true}
  port: {description: its port, type: int, default: 53}
  key_file: {description: "HMAC-TSIG key file as nsupdate -k takes it (a tsig-keygen key clause or a K*.private file); or give O(kerberos)", type: path, default: ""}
  kerberos:
    description:
      - GSS-TSIG for AD-integrated zones (as C(nsupdate -g)), instead of O(key_file)
      - principal (the service account), keytab (its keys; without one, the ticket cache KRB5CCNAME names), krb5_conf (the realm's krb5.conf), server_name (the DNS server's host name, whose principal is DNS/server_name)
    type: dict
    default: {}
  zones: {description: "zones: name, cutover_ttl, records (name, type, value, ttl, cutover_to or cutover_output)", type: list, elements: dict, required: true}
  record_types: {description: only the records of these types (a step's narrowing); all when empty, type: list, elements: str, default: []}
  state_file: {description: JSON file keeping the original records for rollback, type: path, required: true}
  outputs: {description: stack outputs, for records whose new value is a cutover_output, type: dict, default: {}}
  timeout: {description: seconds each exchange with the server (a read, the updates) may take before the batch fails, type: int, default: 120}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: records_updated, records_unchanged, records_verified; outside check mode also dns_read_ms and dns_update_ms (milliseconds spent reading and updating)
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_dns import ARGUMENT_SPEC, DnsBatchError, run_batch


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run_batch(module.params, module.check_mode)
    except DnsBatchError as failure:
        extra = {} if failure.counts is None else {"eendracht_counts": failure.counts}
        module.fail_json(msg=failure.msg, **extra)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
