"""The DC's LDAPS certificate: a lab CA and a server certificate naming the DC's address.

Samba would generate its own at first start, but for its host name only: a client that
connects to the 127.x address could then not verify it. With the address in the
subjectAltName, `LDAPTLS_REQCERT=demand` with the CA works.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from eendracht.lab.errors import LabError

DAYS = "3650"


def _openssl(args: list[str], what: str) -> None:
    done = subprocess.run(
        ["openssl", *args], capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode != 0:
        raise LabError(f"{what} failed: {done.stderr.strip()[-300:]}")


def write_certificates(tls: Path, fqdn: str, address: str) -> None:
    """ca.pem, cert.pem and key.pem (0600) in `tls`, where smb.conf's defaults look."""
    tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key, ca, key, cert = (tls / n for n in ("ca-key.pem", "ca.pem", "key.pem", "cert.pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(
        [
            "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", DAYS,
            "-subj", f"/O=eendracht lab/CN=lab CA {fqdn}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ],
        "making the DC's CA",
    )  # fmt: skip
    with tempfile.TemporaryDirectory(dir=tls) as tmp:
        csr = Path(tmp) / "dc.csr"
        ext = Path(tmp) / "ext.cnf"
        ext.write_text(
            f"subjectAltName=DNS:{fqdn},IP:{address}\n"
            "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
        )
        _openssl(
            ["req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={fqdn}"],
            "making the DC's key",
        )
        _openssl(
            [
                "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                "-CAcreateserial", "-out", str(cert), "-days", DAYS, "-extfile", str(ext),
            ],
            "signing the DC's certificate",
        )  # fmt: skip
    for path in (ca_key, key):
        path.chmod(0o600)  # Samba refuses a key readable by others
