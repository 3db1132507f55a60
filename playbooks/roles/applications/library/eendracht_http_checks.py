#!/usr/bin/python
"""Ask many HTTP endpoints in one module run and report each status; judging is the caller's."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_http_checks
short_description: GET a list of URLs and report the status of each
description:
  - One module run for all health checks or chain tests of a step (a loop of
    M(ansible.builtin.uri) starts a module per URL). Each URL is asked once with O(timeout);
    a connection that fails or times out has status -1. Unless O(require_ok), whether the
    statuses are good enough is for the task that reads RV(results) (the go/no-go thresholds).
options:
  checks:
    description: what to ask, each C(name) (a label) and C(url)
    type: list
    elements: dict
    required: true
  timeout: {description: seconds per request, type: int, default: 10}
  require_ok: {description: fail naming every check that did not answer 200, type: bool, default: false}
author: eendracht
"""

RETURN = r"""
results:
  description: per check C(name), C(url), C(status) (-1 when no answer) and C(msg)
  type: list
  returned: always
eendracht_counts:
  description: checks_passed and checks_failed (status other than 200)
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from urllib.error import HTTPError


def status_of(url, timeout):
    try:
        with open_url(url, method="GET", timeout=timeout, follow_redirects="safe") as answer:
            return answer.status, ""
    except HTTPError as exc:
        return exc.code, str(exc.reason)
    except Exception as exc:  # refused, reset, timed out, bad TLS: no answer
        return -1, f"{type(exc).__name__}: {exc}"


def main():
    module = AnsibleModule(
        argument_spec={
            "checks": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "url": {"type": "str", "required": True},
                },
            },
            "timeout": {"type": "int", "default": 10},
            "require_ok": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    results = []
    for check in module.params["checks"]:
        status, msg = status_of(check["url"], module.params["timeout"])
        results.append({"name": check["name"], "url": check["url"], "status": status, "msg": msg})
    failed = [r for r in results if r["status"] != 200]
    counts = {"checks_passed": len(results) - len(failed), "checks_failed": len(failed)}
    if failed and module.params["require_ok"]:
        named = "; ".join(
            f"{r['name']} ({r['url']}): {r['status']} {r['msg']}".strip() for r in failed
        )
        module.fail_json(
            msg=f"{len(failed)} of {len(results)} did not answer 200: {named}",
            results=results,
            eendracht_counts=counts,
        )
    module.exit_json(changed=False, results=results, eendracht_counts=counts)


if __name__ == "__main__":
    main()
