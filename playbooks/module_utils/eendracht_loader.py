"""Loads the project's module_utils on the controller, where Ansible does not make them importable.

Ansible ships `module_utils/<name>.py` inside a module's payload when the module imports
`ansible.module_utils.<name>`; in ansible-playbook's own process (the action plugins) and in the
eendracht package nothing makes that name importable. `load()` gives it the same name there, so
every caller runs the one file, and a module_utils file importing another works the same way
on both sides when its imports are loaded first. No module imports this file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable
from types import ModuleType


def load(name: str, folders: Iterable[str]) -> ModuleType:
    """`<folder>/<name>.py` from the first folder that has it, loaded once as
    `ansible.module_utils.<name>`."""
    qualified = f"ansible.module_utils.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    searched = list(folders)
    for folder in searched:
        path = os.path.join(folder, f"{name}.py")
        if not os.path.isfile(path):
            continue
        spec = importlib.util.spec_from_file_location(qualified, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[qualified]
            raise
        return module
    raise ImportError(f"no {name}.py in {', '.join(searched)}", name=qualified)


def load_all(names: Iterable[str], folders: Iterable[str]) -> ModuleType:
    """Each of `names` in order (a file's own module_utils imports first); returns the last."""
    searched = list(folders)
    module = None
    for name in names:
        module = load(name, searched)
    if module is None:
        raise ImportError("no module_utils named")
    return module
