"""Code the package shares with the Ansible modules: one file each in `playbooks/module_utils/`.

Ansible ships `playbooks/module_utils/<name>.py` with every module that imports
`ansible.module_utils.<name>` (`module_utils` in ansible.cfg). The package loads that same file,
under that same name, so there is one implementation, and a module run outside Ansible (the
tests) imports the very copy loaded here. The functions below give it typed signatures.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from eendracht.state import REPO_ROOT

MODULE_UTILS = REPO_ROOT / "playbooks" / "module_utils"


def _loader() -> ModuleType:
    """`module_utils/eendracht_loader.py`: the one loader, the action plugins use it too."""
    spec = importlib.util.spec_from_file_location(
        "eendracht_loader", MODULE_UTILS / "eendracht_loader.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"no eendracht_loader.py in {MODULE_UTILS}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_LOADER = _loader()


def load_module_utils(name: str) -> ModuleType:
    """`playbooks/module_utils/<name>.py`, as `ansible.module_utils.<name>`, loaded once."""
    module: ModuleType = _LOADER.load(name, [str(MODULE_UTILS)])
    return module


_fsflags = load_module_utils("eendracht_fsflags")
# The collector held back while much long-lived data is built (check, plan, the mocked stacks).
fewer_collections = load_module_utils("eendracht_gc").fewer_collections
_ldif = load_module_utils("eendracht_ldif")
load_module_utils("eendracht_gss")  # imported by eendracht_dns (gssapi only when it signs)


def thaw_tree(root: Path) -> int:
    """Clears the immutable and append-only flags (a freeze's `chattr +i`) on everything under
    root as far as possible, so it can be removed; returns how many entries had them."""
    cleared: int = _fsflags.thaw_tree(str(root))
    return cleared


def parse_ldif(text: str) -> list[dict[str, list[str]]]:
    """Entries of `ldapsearch -LLL` output (folded lines joined, base64 values decoded), each
    with its `dn`; attribute names are case-insensitive, as in LDAP."""
    entries: list[dict[str, list[str]]] = _ldif.parse_ldif(text)
    return entries
