#!/usr/bin/python
"""Repoint an application: merge settings into its JSON configuration and tell it to reload."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_app_config
short_description: Merge settings into an application's JSON configuration and reload it
description:
  - Sets top-level keys of a JSON configuration file (nested mappings are merged one level
    deep), writes atomically only when something differs, then sends SIGHUP to the process
    named by O(pid_file) so it reads its configuration again.
options:
  path: {description: the configuration file (or give O(configs)), type: path}
  settings: {description: keys to set, type: dict, required: true}
  pid_file: {description: pid file of the process to reload, type: path}
  configs:
    description:
      - Several applications at once, each C(path) and optionally C(pid_file), the same
        O(settings) for all (one module run instead of one per application).
    type: list
    elements: dict
  koppelingen: {description: targets of the application's koppelingen, routed through O(hub), type: list, elements: str, default: []}
  hub: {description: integration hub endpoint the koppelingen are repointed at, type: str}
  municipality: {description: the municipality; its own applications are routed as <municipality>/<app>, type: str}
  local_apps: {description: names of the municipality's applications (others are national services), type: list, elements: str, default: []}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: configs_changed
  type: dict
  returned: always
"""

import json
import os
import signal

from ansible.module_utils.basic import AnsibleModule


def merged(current, settings):
    out = dict(current)
    for key, value in settings.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def apply(module, path, pid_file, settings):
    """Merges `settings` into the configuration at `path`; reloads it when it changed."""
    with open(path, encoding="utf-8") as handle:
        current = json.load(handle)
    wanted = merged(current, settings)
    changed = wanted != current
    if changed and not module.check_mode:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(wanted, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)
        if pid_file and os.path.exists(pid_file):
            with open(pid_file, encoding="utf-8") as handle:
                pid = int(handle.read().strip() or 0)
            if pid:
                try:
                    os.kill(pid, signal.SIGHUP)
                except ProcessLookupError:
                    module.warn(f"process {pid} of {path} is not running")
    return changed


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "settings": {"type": "dict", "required": True},
            "pid_file": {"type": "path"},
            "configs": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "path": {"type": "path", "required": True},
                    "pid_file": {"type": "path"},
                },
            },
            "koppelingen": {"type": "list", "elements": "str", "default": []},
            "hub": {"type": "str"},
            "municipality": {"type": "str"},
            "local_apps": {"type": "list", "elements": "str", "default": []},
        },
        required_one_of=[("path", "configs")],
        mutually_exclusive=[("path", "configs"), ("pid_file", "configs")],
        supports_check_mode=True,
    )
    p = module.params
    settings = dict(p["settings"])
    if p["koppelingen"]:
        if not p["hub"]:
            module.fail_json(msg="koppelingen are repointed at the integration hub: give hub")
        hub = p["hub"].rstrip("/")
        settings["koppelingen"] = {
            k: f"{hub}/{p['municipality']}/{k}" if k in p["local_apps"] else f"{hub}/{k}"
            for k in p["koppelingen"]
        }
    targets = p["configs"] if p["configs"] is not None else [p]
    changed = sum(apply(module, t["path"], t.get("pid_file"), settings) for t in targets)
    module.exit_json(changed=bool(changed), eendracht_counts={"configs_changed": changed})


if __name__ == "__main__":
    main()
