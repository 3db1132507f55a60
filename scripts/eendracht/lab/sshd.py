"""File servers: one real sshd per programme server (and `target-files`), root login by key."""

from __future__ import annotations

from pathlib import Path

from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import FileServer
from eendracht.lab.procs import run

SSHD = "/usr/sbin/sshd"  # sshd insists on being started by its absolute path
PRIVSEP_DIR = Path("/run/sshd")


def ensure_client_key(paths: LabPaths) -> None:
    """The lab's root key pair (ed25519) and the authorized_keys every lab sshd reads."""
    paths.ssh.mkdir(parents=True, exist_ok=True)
    paths.ssh.chmod(0o700)
    if not paths.private_key.exists():
        run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "eendracht-lab",
                "-f",
                str(paths.private_key),
            ],
            "generating the lab's ssh key",
        )
    pub = paths.private_key.with_suffix(".pub").read_text()
    paths.authorized_keys.write_text(pub)
    paths.authorized_keys.chmod(0o600)


def host_dir(paths: LabPaths, server: FileServer) -> Path:
    return paths.ssh / "hosts" / server.host


def prepare(paths: LabPaths, server: FileServer) -> Path:
    """Host key and sshd_config for one server; returns the config path."""
    folder = host_dir(paths, server)
    folder.mkdir(parents=True, exist_ok=True)
    host_key = folder / "ssh_host_ed25519_key"
    if not host_key.exists():
        run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", server.host, "-f", str(host_key)],
            f"generating the host key of {server.host}",
        )
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"# eendracht lab: {server.host} ({server.group})",
                f"ListenAddress {server.address}:{server.port}",
                f"HostKey {host_key}",
                f"PidFile {folder / 'sshd.pid'}",
                f"AuthorizedKeysFile {paths.authorized_keys}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "UseDNS no",
                # The lab's servers borrow this machine's root account, not its shell start-up:
                # bash runs ~/.bashrc for every command sshd hands it (a pyenv init here,
                # ~75 ms a command) unless it is a nested shell. A server's own root profile
                # is not what the lab stands for.
                "SetEnv SHLVL=1",
                "MaxStartups 50:30:100",
                "MaxSessions 50",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    return config


def argv(config: Path) -> list[str]:
    # -D: stay in the foreground so the recorded pid is sshd's own; -e: log to the lab's log.
    return [SSHD, "-D", "-e", "-f", str(config)]
