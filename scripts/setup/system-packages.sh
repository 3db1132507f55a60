#!/usr/bin/env bash
# Installs the Debian packages the lab and the tests need: real sshd, rsync, OpenLDAP,
# BIND and PostgreSQL, Samba as Active Directory domain controller with the Kerberos and SMB
# clients, Dovecot for IMAP (with its LDAP driver: the target finds its users in the new
# directory), and the ACL tools the lab's share trees are seeded with (setfacl).
# chromium and poppler-utils are for the tests of the weekend report: the HTML report is opened
# in Debian's chromium (driven by Playwright, which cannot download a browser of its own here),
# the PDF report rendered with pdftoppm and read with pdftotext.
# gcc and libkrb5-dev build the `gssapi` package (Kerberos for GSS-TSIG DNS updates): PyPI has
# no Linux wheel of it; uv builds it once and keeps the wheel in its cache.
# Idempotent: when every package is present it does nothing.
# The lab starts these daemons itself on loopback addresses, so the distribution's own
# service instances are kept from starting while packages install.
set -euo pipefail

packages=(
  openssh-server openssh-client rsync iproute2 acl
  slapd ldap-utils
  bind9 bind9-utils bind9-dnsutils
  postgresql postgresql-client
  sqlite3 openssl
  samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind krb5-user smbclient ldb-tools
  dovecot-core dovecot-imapd dovecot-ldap
  gcc libkrb5-dev
  chromium poppler-utils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "system-packages: need root to install: ${missing[*]}" >&2
  exit 1
fi

# Keep the packages' init scripts from starting system-wide daemons: the lab runs
# its own instances. Only remove the guard if we placed it.
guard=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$guard"
  chmod +x "$guard"
  placed=1
fi
trap '[ "$placed" = 1 ] && rm -f "$guard"' EXIT

echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
