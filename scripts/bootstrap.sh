#!/usr/bin/env bash
# Installs what pgrealm needs on Debian 12, only what is missing: Debian packages with
# apt-get, Python packages into .venv from requirements.lock. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(samba samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind libjemalloc2 krb5-user krb5-kdc krb5-admin-server ldb-tools bind9-dnsutils python3-samba samba-common-bin python3-venv
      postgresql-15 postgresql-client-15 iproute2 nftables procps util-linux faketime
      chromium chromium-driver)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Debian's postinst scripts may start their own samba/krb5kdc/postgresql: pgrealm runs
  # beside them on its own addresses, so we neither need nor stop them.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=/usr/bin/python3
if [ ! -x .venv/bin/pgrealm ] || ! cmp -s requirements.lock .venv/.installed-lock; then
  echo "bootstrap: installing Python packages from requirements.lock"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
  # The checkout itself goes on the venv's path, so bench/ and tests/ import too, and
  # pgrealm is installed editable for its console script, .venv/bin/pgrealm.
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  pwd > "$site/pgrealm-source.pth"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  cp requirements.lock .venv/.installed-lock
fi
