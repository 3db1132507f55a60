"""eendracht_rsync run on the source server by its Python directly, without a module payload.

The copy has to run on the source server (rsync pushes from there to the target). As a module,
each copy task paid ~0.2-0.25 s before its first line ran: the AnsiballZ payload built on the
controller (the first use of a module in an `ansible-playbook` run builds it, and a phase run
uses the copy module once per play), then unpacked on the server with Ansible's module code
imported. That was more than half of what a final delta step added to rsync's own time. Here
the work (`module_utils/eendracht_copy.py`, the module's one implementation, and the
`eendracht_posix_acl` it imports: the standard library otherwise) goes to the server's Python
on standard input, over the connection Ansible already has open, and its result comes back as
JSON. Arguments are checked here against the module's argument spec first; they travel on
standard input, never on a command line.

The server's Python is the one Ansible would use: `ansible_python_interpreter`, or the one
Ansible discovered on that host earlier. Where neither is known yet, or the task is delegated,
it runs the module as usual (which discovers it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
from typing import Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action.normal import ActionModule as NormalAction

# What is shipped, in import order: eendracht_copy imports eendracht_posix_acl.
SHIPPED = ("eendracht_posix_acl", "eendracht_copy")
# Runs the shipped files under the names they import each other by, then the copy. Nothing in
# it is secret: it is the whole command line the server's process list shows.
BOOTSTRAP = (
    "import json,sys,types\n"
    "d=json.load(sys.stdin)\n"
    "for n,s in d['files']:\n"
    " m=sys.modules['ansible.module_utils.'+n]=types.ModuleType('ansible.module_utils.'+n)\n"
    " exec(compile(s,n+'.py','exec'),m.__dict__)\n"
    "c=sys.modules['ansible.module_utils.eendracht_copy']\n"
    "try:\n r=c.copy(d['params'],d['check_mode'])\n"
    "except c.CopyError as e:\n r=dict(e.details,failed=True,msg=str(e))\n"
    "json.dump(r,sys.stdout)\n"
)

# The one loader of module_utils on the controller: module_utils/eendracht_loader.py.
FOLDERS = [*(C.DEFAULT_MODULE_UTILS_PATH or []), os.path.join(os.path.dirname(__file__), "..", "..", "..", "module_utils")]
_at = next(p for f in FOLDERS if os.path.isfile(p := os.path.join(os.path.abspath(f), "eendracht_loader.py")))
_spec = importlib.util.spec_from_file_location("eendracht_loader", _at)
LOADER = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(LOADER)  # type: ignore[union-attr]


def shipped_files() -> list[tuple[str, str]]:
    """(name, source) of each shipped file, read from where the loader finds it."""
    files = []
    for name in SHIPPED:
        module = LOADER.load(name, FOLDERS)
        with open(module.__file__, encoding="utf-8") as handle:
            files.append((name, handle.read()))
    return files


class ActionModule(NormalAction):
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        python = None if self._task.delegate_to else self._server_python(task_vars)
        if python is None:
            normal: dict[str, Any] = super().run(tmp, task_vars)
            return normal
        result = dict(super(NormalAction, self).run(tmp, task_vars))
        copy = LOADER.load_all(SHIPPED, FOLDERS)
        validation = ArgumentSpecValidator(copy.ARGUMENT_SPEC).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": "; ".join(validation.error_messages)}
        payload = json.dumps(
            {
                "files": shipped_files(),
                "params": dict(validation.validated_parameters),
                "check_mode": bool(self._task.check_mode),
            }
        )
        command = f"{shlex.quote(python)} -c {shlex.quote(BOOTSTRAP)}"
        ran = self._low_level_execute_command(command, in_data=payload)
        try:
            answer = json.loads(ran.get("stdout") or "")
        except ValueError:
            answer = None
        if ran.get("rc") != 0 or not isinstance(answer, dict):
            tail = (ran.get("stderr") or ran.get("stdout") or "").strip()[-2000:]
            return {**result, "failed": True, "rc": ran.get("rc"), "msg": f"the copy did not run on the source server: {tail}"}
        result.update(answer)
        return result

    def _server_python(self, task_vars: dict[str, Any]) -> str | None:
        configured = task_vars.get("ansible_python_interpreter")
        if configured:
            return str(self._templar.template(configured))
        discovered = (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")
        return str(discovered) if discovered else None
