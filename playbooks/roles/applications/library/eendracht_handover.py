#!/usr/bin/python
"""Mark the hand-over of SaaS and replaced applications to their supplier: one file each."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_handover
short_description: Write the hand-over note of each SaaS or replaced application
description:
  - Creates O(folder) (mode 0700) and writes C(<application>.json) (mode 0600) for each
    application in O(applications), atomically and only when its content differs: the
    record that the supplier switches the tenant to the new organisation. One module run for
    every application of a step.
options:
  folder: {description: the hand-over folder of the wave, type: path, required: true}
  municipality: {description: the municipality handing over, type: str, required: true}
  applications:
    description: the applications handed over (name, supplier, disposition, saas_replacement)
    type: list
    elements: dict
    required: true
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: handovers_marked (notes written or changed)
  type: dict
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

HANDOVER = "the supplier switches the tenant to the new organisation"


def note(application, municipality):
    body = {
        "application": application["name"],
        "supplier": application.get("supplier") or "",
        "disposition": application.get("disposition") or "",
        "municipality": municipality,
        "replacement": application.get("saas_replacement") or "",
        "handover": HANDOVER,
    }
    return json.dumps(body, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def holds(path, text):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read() == text
    except FileNotFoundError:
        return False


def write(path, text):
    """Writes `text` to `path` (0600) unless it already holds it; True when it wrote."""
    if holds(path, text):
        return False
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec={
            "folder": {"type": "path", "required": True},
            "municipality": {"type": "str", "required": True},
            "applications": {"type": "list", "elements": "dict", "required": True},
        },
        supports_check_mode=True,
    )
    folder = module.params["folder"]
    apps = module.params["applications"]
    if any(not a.get("name") or "/" in a["name"] or a["name"].startswith(".") for a in apps):
        module.fail_json(msg="every application handed over needs a plain name")
    notes = {a["name"]: note(a, module.params["municipality"]) for a in apps}
    if module.check_mode:
        pending = [n for n, t in notes.items() if not holds(os.path.join(folder, n + ".json"), t)]
        module.exit_json(changed=bool(pending), eendracht_counts={"handovers_marked": 0})
    if notes:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    written = sum(write(os.path.join(folder, n + ".json"), t) for n, t in notes.items())
    module.exit_json(changed=bool(written), eendracht_counts={"handovers_marked": written})


if __name__ == "__main__":
    main()
