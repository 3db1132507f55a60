"""eendracht_manifest's mode `owners`, run in Ansible's worker process on the controller.

The work is `module_utils/eendracht_owners.py` (one implementation, which the module imports
too): read the identity map, one `ldapsearch` of the source directory, build the translation.
That takes milliseconds; run as a module, the task took ~0.3-0.5 s more (the AnsiballZ payload
built and started, a Python start-up with Ansible's module code) in every presync and
final_sync step. The role's owners tasks are `delegate_to: localhost`, so the module would run
in this very place: only a task whose connection is local runs here; every other mode, and
`owners` anywhere else, runs the module as usual.
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType
from typing import Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action.normal import ActionModule as NormalAction

# eendracht_owners imports these two as ansible.module_utils.<name>: loaded first, in order.
SHARED = ("eendracht_ldif", "eendracht_posix_acl", "eendracht_owners")


# The one loader of module_utils on the controller: module_utils/eendracht_loader.py.
FOLDERS = [*(C.DEFAULT_MODULE_UTILS_PATH or []), os.path.join(os.path.dirname(__file__), "..", "..", "..", "module_utils")]
_at = next(p for f in FOLDERS if os.path.isfile(p := os.path.join(os.path.abspath(f), "eendracht_loader.py")))
_spec = importlib.util.spec_from_file_location("eendracht_loader", _at)
LOADER = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(LOADER)  # type: ignore[union-attr]


def owners_module() -> ModuleType:
    return LOADER.load_all(SHARED, FOLDERS)  # type: ignore[no-any-return]


class ActionModule(NormalAction):
    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._task.args.get("mode") != "owners" or self._connection.transport != "local":
            result: dict[str, Any] = super().run(tmp, task_vars)
            return result
        result = dict(super(NormalAction, self).run(tmp, task_vars))
        owners = owners_module()
        validation = ArgumentSpecValidator(owners.ARGUMENT_SPEC, required_if=owners.REQUIRED_IF).validate(
            dict(self._task.args)
        )
        if validation.error_messages:
            return {**result, "failed": True, "msg": "; ".join(validation.error_messages)}
        params = dict(validation.validated_parameters)
        keeps = LOADER.load("eendracht_posix_acl", FOLDERS).ALL_KEEPS
        unknown = sorted(set(params["keeps"]) - set(keeps))
        if unknown:
            return {**result, "failed": True, "msg": f"unknown in keeps: {', '.join(unknown)} (known: {', '.join(keeps)})"}
        try:
            result.update(owners.read_owners(params))
        except owners.OwnersError as failure:
            result.update(failed=True, msg=str(failure))
        return result
