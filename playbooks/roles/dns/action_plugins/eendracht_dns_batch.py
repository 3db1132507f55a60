"""The dns role's batch, run in Ansible's worker process on the controller.

The work is the module's (`module_utils/eendracht_dns.py`, one implementation, speaking DNS
through dnspython): one signed AXFR read and signed update messages sent from the controller,
where the TSIG key file is (the role's tasks are `delegate_to: localhost`: the module of the
same name in `library/` runs in the same place). Run here, a task builds, ships and starts no
module: no AnsiballZ payload, no Python start-up and imports, no module arguments as JSON, no
`invocation` in the result.

A zone list of a thousand records costs Ansible's templating tens of milliseconds every time
it is rendered whole, more than the DNS work itself. So `zones` is resolved only to its list
(as ansible.builtin.assert does for `that`), and what is inside is made plain data here: in one
pass when no string in it can hold a template, else value by value with the strings that can
rendered by Ansible's templar, as Ansible would.
"""

from __future__ import annotations

import importlib.util
import json
import os
from types import ModuleType
from typing import Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

# What the batch imports from module_utils, its own imports first.
SHARED = ("eendracht_gc", "eendracht_gss", "eendracht_dns")


# The one loader of module_utils on the controller: module_utils/eendracht_loader.py.
FOLDERS = [*(C.DEFAULT_MODULE_UTILS_PATH or []), os.path.join(os.path.dirname(__file__), "..", "..", "..", "module_utils")]
_at = next(p for f in FOLDERS if os.path.isfile(p := os.path.join(os.path.abspath(f), "eendracht_loader.py")))
_spec = importlib.util.spec_from_file_location("eendracht_loader", _at)
LOADER = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(LOADER)  # type: ignore[union-attr]


def shared() -> ModuleType:
    """The batch's module_utils, `eendracht_dns` last."""
    return LOADER.load_all(SHARED, FOLDERS)  # type: ignore[no-any-return]


# Loaded when Ansible loads this plugin, in ansible-playbook's own process, dnspython with it
# (and the classes of the record types it reads): every worker it forks has them already.
DNS = shared()


def _plain(value: Any, templar: Any) -> Any:
    """`value` as plain dicts, lists and scalars; a string that can hold a template (it has a
    `{` or starts with a `#jinja2:` header) is rendered by `templar`, any other is as it is."""
    if isinstance(value, str):
        if "{" in value or value.startswith("#jinja2:"):
            rendered = templar.template(value)
            return rendered if isinstance(rendered, str) else _plain(rendered, templar)
        return str(value)
    if isinstance(value, dict):
        return {_plain(k, templar): _plain(v, templar) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, templar) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    @classmethod
    def finalize_task_arg(cls, name: str, value: Any, templar: Any, context: Any) -> Any:
        """`zones` is resolved to its list only, and what is inside is made plain data here:
        Ansible's templar renders only the strings that can hold a template."""
        resolve = getattr(templar, "resolve_to_container", None)
        if name != "zones" or resolve is None:
            return super().finalize_task_arg(name, value, templar, context)
        zones = resolve(value)
        try:  # one pass in C: the usual zones hold no template at all
            text = json.dumps(zones)
        except (TypeError, ValueError):
            return _plain(zones, templar)
        if any(marker in text for marker in ("{{", "{%", "{#", '"#jinja2:')):
            return _plain(zones, templar)
        return json.loads(text)

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        dns = DNS
        args = dict(self._task.args)
        if "zones" not in args:
            return {**result, "failed": True, "msg": "missing required arguments: zones"}
        zones = args.pop("zones")
        spec = {k: v for k, v in dns.ARGUMENT_SPEC.items() if k != "zones"}
        validation = ArgumentSpecValidator(spec).validate(args)
        if validation.error_messages:
            return {**result, "failed": True, "msg": "; ".join(validation.error_messages)}
        params = dict(validation.validated_parameters)
        params["zones"] = zones
        try:
            result.update(dns.run_batch(params, bool(self._task.check_mode)))
        except dns.DnsBatchError as failure:
            result.update(failed=True, msg=failure.msg)
            if failure.counts is not None:
                result["eendracht_counts"] = failure.counts
        return result
