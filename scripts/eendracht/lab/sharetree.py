"""Share trees as municipal file servers hold them: mostly small office files, a few large ones,
deep paths, spaces and non-ASCII names, empty files, symlinks, hard links, owners and modes,
POSIX ACLs (access and default, naming colleagues and the department group) and user xattrs
(Samba's DOS attributes, a classification).

Owners are the municipality's own numbers, which every municipality starts at FIRST_UID: the
same number means a different person in each, as on the real servers, so a copy that keeps the
numbers mixes their owners up on the shared target.

Everything (names, sizes, contents, owners, modes, times, ACLs, xattrs) follows from the seed,
so the same programme and seed give byte-identical trees.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from eendracht.lab.people import LabPerson, ascii_fold
from eendracht.programme import models as m

FIRST_UID = 10001
# The real trees (hundreds of thousands of files, terabytes per municipality) do not fit one
# machine; each scale has a budget for the whole programme, shared in proportion to the
# programme's own numbers, so the biggest shares stay the biggest.
BUDGETS = {
    # scale: (files, bytes, most files per share, fewest files per share)
    "small": (600, 24 * 1024**2, 150, 12),
    "full": (40_000, 1024**3, 20_000, 100),
}
# Times between 2016-01-01 and 2025-12-31: shares hold years of history.
EPOCH_FROM, EPOCH_TO = 1451606400, 1767139200

FOLDERS = [
    "Algemeen",
    "Overleg/Notulen",
    "Overleg/Agenda's",
    "Beleid/Concepten",
    "Beleid/Vastgesteld",
    "Projecten/{year}/{project}",
    "Projecten/{year}/{project}/Stukken ontvangen",
    "Archief/{year}/Q{q}",
    "Archief/{year}/Q{q}/Dossiers/Bezwaar en beroep/{year}-{nr:04d} {surname}/Correspondentie/Uitgaand",
    "Medewerkers/{person}",
    "Sjablonen",
    "Scans",
]
PROJECTS = [
    "Herinrichting centrum",
    "Omgevingswet",
    "Zonnepark Dijkzicht",
    "Schuldhulpverlening",
    "Renovatie gemeentehuis",
    "Jeugdzorg regio",
    "Fusie ambtelijke organisatie",
    "Wijkaanpak Oost",
]
FILES = [
    ("Notulen raadsvergadering – {given}", ".docx"),
    ("Begroting {year} v{n}", ".xlsx"),
    ("Besluit {nr}", ".pdf"),
    ("Rapportage Q{q} {year}", ".pptx"),
    ("scan_{nr:05d}", ".pdf"),
    ("Memo – {person}", ".docx"),
    ("Overzicht cliënten {year}", ".xlsx"),
    ("Offerte {project}", ".pdf"),
    ("Adviesnota {project} (definitief)", ".docx"),
    ("Brief aan {person}", ".docx"),
    ("export_{year}{q}", ".csv"),
    ("leesmij", ".txt"),
]
LARGE = [("Bouwtekening {project}", ".pdf"), ("Presentatie {project}", ".pptx"), ("Foto's", ".zip")]
MAGIC = {
    ".docx": b"PK\x03\x04",
    ".xlsx": b"PK\x03\x04",
    ".pptx": b"PK\x03\x04",
    ".zip": b"PK\x03\x04",
    ".pdf": b"%PDF-1.7\n",
}


@dataclass
class TreeFigures:
    files: int = 0
    bytes: int = 0
    directories: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    empty: int = 0
    acls: int = 0  # entries with an extended POSIX ACL
    xattrs: int = 0  # entries with user xattrs
    paths: list[str] = field(default_factory=list)  # a few notable paths, for tests and docs

    def add(self, other: TreeFigures) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.directories += other.directories
        self.symlinks += other.symlinks
        self.hardlinks += other.hardlinks
        self.empty += other.empty
        self.acls += other.acls
        self.xattrs += other.xattrs
        self.paths += other.paths


def share_root(host_root: Path, share: m.Share) -> Path:
    """Where a share lives in the lab: the host's folder plus the share's path.

    A Windows path (D:\\Shares\\x) becomes D/Shares/x under the host's folder.
    """
    path = share.path.replace("\\", "/")
    if len(path) > 1 and path[1] == ":":
        path = path[0] + path[2:]
    return host_root / path.lstrip("/")


def _content(rng: random.Random, ext: str, size: int, words: list[str]) -> bytes:
    if ext in (".txt", ".csv"):
        text = []
        total = 0
        while total < size:
            line = ";".join(rng.choice(words) for _ in range(6)) + "\n"
            text.append(line)
            total += len(line.encode())
        return "".join(text).encode()[:size]
    head = MAGIC.get(ext, b"")
    # SHAKE-128 as a seeded stream: deterministic, and twice as fast as Random.randbytes.
    return head + hashlib.shake_128(rng.randbytes(16)).digest(max(0, size - len(head)))


def _small_size(rng: random.Random) -> int:
    return int(min(256 * 1024, max(300, rng.lognormvariate(9.4, 1.0))))  # median ~12 KB


def _fill(template: str, rng: random.Random, people: list[LabPerson], year: int) -> str:
    person = rng.choice(people) if people else None
    return template.format(
        year=year,
        q=rng.randint(1, 4),
        n=rng.randint(1, 9),
        nr=rng.randint(1, 9999),
        project=rng.choice(PROJECTS),
        given=person.given_name if person else "Jan",
        person=person.full_name if person else "Jan de Vries",
        surname=(f"{person.prefix} {person.surname}".strip() if person else "De Vries"),
    )


@dataclass(frozen=True)
class ShareBudget:
    files: int
    bytes: int


def budgets(shares: list[m.Share], scale: str) -> dict[tuple[str, str], ShareBudget]:
    """Files and bytes per (server, share name) for every share of the programme."""
    total_files, total_bytes, most, fewest = BUDGETS[scale]
    all_files = sum(s.files or 1000 for s in shares) or 1
    all_gb = sum(s.size_gb for s in shares) or 1.0
    out = {}
    for s in shares:
        files = round(total_files * (s.files or 1000) / all_files)
        files = min(max(files, fewest), most, s.files or most)
        size = max(
            64 * 1024, min(round(total_bytes * s.size_gb / all_gb), int(s.size_gb * 1024**3))
        )
        out[(s.server, s.name)] = ShareBudget(max(files, 2), size)
    return out


def seed_share(
    root: Path,
    share: m.Share,
    people: list[LabPerson],
    budget_of: ShareBudget,
    seed: int,
    gid: int,
) -> TreeFigures:
    """Write one share's tree under `root` (which must not exist yet)."""
    rng = random.Random(f"{seed}:share:{share.server}:{share.name}:{share.path}")
    figures = TreeFigures()
    count, budget = budget_of.files, budget_of.bytes
    large = 2 if budget >= 4 * 1024**2 else 1 if budget >= 1024**2 else 0
    large = min(large + count // 5000, count // 10)
    staff = [p for p in people if p.department == share.department] or people
    words = [ascii_fold(p.full_name) for p in staff] + PROJECTS

    folders: list[Path] = [root]
    for template in FOLDERS:
        for _ in range(2 if "{" in template else 1):
            folders.append(root / _fill(template, rng, staff, rng.randint(2016, 2025)))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)

    written: list[Path] = []
    used = 0
    large_size = (budget // 2) // max(1, large)
    for i in range(count - 1):  # the last file is import.sh below
        folder = rng.choice(folders)
        year = rng.randint(2016, 2025)
        if i < large:
            template, ext = rng.choice(LARGE)
            size = min(large_size, max(0, budget - used))
        else:
            template, ext = rng.choice(FILES)
            size = 0 if rng.random() < 0.03 else _small_size(rng)
        stem = _fill(template, rng, staff, year)
        path = folder / f"{stem}{ext}"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"{stem} ({n}){ext}"
        data = _content(rng, ext, size, words)
        path.write_bytes(data)
        used += len(data)
        uid = FIRST_UID + rng.randrange(max(1, len(people)))
        os.chown(path, uid, gid)
        mode = rng.choice((0o640, 0o640, 0o640, 0o660, 0o600, 0o644))
        path.chmod(mode)
        written.append(path)
        figures.files += 1
        figures.bytes += len(data)
        figures.empty += len(data) == 0

    script = root / "Algemeen" / "import.sh"
    script.write_text("#!/bin/sh\n# dagelijkse import uit het zaaksysteem\nexit 0\n")
    script.chmod(0o755)
    figures.files += 1
    figures.bytes += script.stat().st_size
    written.append(script)

    links = max(1, count // 100)
    for i in range(links):
        target = rng.choice(written)
        link = rng.choice(folders) / f"Snelkoppeling naar {target.stem} {i}{target.suffix}"
        link.symlink_to(os.path.relpath(target, link.parent))
        os.lchown(link, FIRST_UID, gid)
        figures.symlinks += 1
        other = rng.choice(folders) / f"Kopie {i} van {target.name}"
        os.link(target, other)
        figures.hardlinks += 1
    (root / "Actueel").symlink_to("Projecten")
    figures.symlinks += 1

    deepest = max(folders, key=lambda p: len(p.parts))
    figures.paths.append(str(deepest))
    times: dict[Path, int] = {}
    for path in sorted(root.rglob("*")):
        times[path] = rng.randint(EPOCH_FROM, EPOCH_TO)
    for path, when in sorted(times.items(), key=lambda kv: -len(kv[0].parts)):
        os.utime(path, (when, when), follow_symlinks=False)
        if path.is_dir() and not path.is_symlink():
            path.chmod(rng.choice((0o2770, 0o750, 0o755)))
            os.chown(path, FIRST_UID, gid)
    root.chmod(0o2770)
    os.chown(root, 0, gid)
    os.utime(root, (EPOCH_TO, EPOCH_TO))
    # Last, with draws of their own: the tree above stays what the same seed always gave.
    figures.acls = _seed_acls(root, rng, written, folders[1:], len(people), gid)
    figures.xattrs = _seed_xattrs(rng, written, folders[1:])
    figures.directories = sum(1 for p in root.rglob("*") if p.is_dir() and not p.is_symlink()) + 1
    return figures


ACL_TIMEOUT = 60
CLASSIFICATIONS = (b"openbaar", b"intern", b"vertrouwelijk")


def _perms(bits: int) -> str:
    return "".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def _quoted(path: str) -> str:
    """A path as getfacl writes it, so setfacl --restore reads it back: \\ooo for any odd byte."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/()'")
    return "".join(chr(c) if c in safe else f"\\{c:03o}" for c in os.fsencode(path))


def _acl(mode: int, named: list[str], default: list[str]) -> list[str]:
    """The full ACL of an entry: its mode's entries, the named ones, a mask covering them."""
    mask = (mode >> 3) & 7
    for entry in named:
        mask |= sum(b for c, b in (("r", 4), ("w", 2), ("x", 1)) if c in entry.rsplit(":", 1)[1])
    lines = [f"user::{_perms(mode >> 6)}", *named, f"group::{_perms(mode >> 3)}"]
    lines += [f"mask::{_perms(mask)}", f"other::{_perms(mode)}"]
    if default:
        lines += [f"default:{x}" for x in ("user::rwx", "group::r-x", "other::---")]
        lines += [f"default:{x}" for x in default] + ["default:mask::rwx"]
    return lines


def _seed_acls(
    root: Path, rng: random.Random, files: list[Path], folders: list[Path], people: int, gid: int
) -> int:
    """Extended ACLs on about one file in twenty and two folders (with a default ACL), naming
    colleagues (people's numbers) and the department group, set by one `setfacl --restore`."""

    def colleague() -> int:
        return FIRST_UID + rng.randrange(max(1, people))

    chosen = sorted(set(rng.sample(files, max(2, len(files) // 20))))
    dumps: list[str] = []
    for path in chosen:
        named = [f"user:{colleague()}:{rng.choice(('rw-', 'r--'))}"]
        if rng.random() < 0.5:
            named.append(f"group:{gid}:r--")
        mode = path.stat().st_mode
        dumps.append(f"# file: {_quoted(str(path.relative_to(root)))}")
        dumps += [*_acl(mode, named, []), ""]
    unique = sorted(set(folders))
    for folder in sorted(rng.sample(unique, min(2, len(unique)))):
        who = colleague()
        mode = folder.stat().st_mode
        dumps.append(f"# file: {_quoted(str(folder.relative_to(root)))}")
        dumps += [*_acl(mode, [f"user:{who}:rwx"], [f"user:{who}:rwx", f"group:{gid}:r-x"]), ""]
    subprocess.run(
        ["setfacl", "--restore=-"],
        input="\n".join(dumps) + "\n",
        cwd=root,
        check=True,
        text=True,
        capture_output=True,
        timeout=ACL_TIMEOUT,
    )
    return sum(1 for line in dumps if line.startswith("# file: "))


def _seed_xattrs(rng: random.Random, files: list[Path], folders: list[Path]) -> int:
    """User xattrs as Samba and document management leave them (setting one keeps mtime)."""
    chosen = sorted(set(rng.sample(files, max(2, len(files) // 20))))
    for path in chosen:
        os.setxattr(path, "user.DOSATTRIB", b"0x20")  # Samba: the archive attribute
        os.setxattr(path, "user.eendracht.classificatie", rng.choice(CLASSIFICATIONS))
    folder = rng.choice(sorted(set(folders)))
    os.setxattr(folder, "user.xdg.comment", "Stukken van de afdeling – niet verplaatsen".encode())
    return len(chosen) + 1
