"""The files on the machine that pgrealm drives, each with the Debian package that ships it.

``scripts/bootstrap.sh`` installs these packages by name, with --no-install-recommends:
a package pulled in only as a recommendation (samba-ad-provision, for one) is missing on
a fresh machine although every developer's machine had it. A unit test reads dpkg's
database and checks this table against it and against the bootstrap list.
"""

from __future__ import annotations

from pgrealm.engines.netns.links import IP, NFT, SYSCTL
from pgrealm.engines.postgres.spec import BIN_DIR
from pgrealm.engines.samba.dc import SAMBA, UNSHARE
from pgrealm.engines.samba.provision import SAMBA_SPNUPDATE, SAMBA_TOOL

__all__ = ["REQUIRED_FILES"]

_SAMBA_LIB = "/usr/lib/*/samba"  # the multiarch directory, whatever the architecture

# path (a glob where the architecture shows in it) -> the package that ships it
REQUIRED_FILES: dict[str, str] = {
    SAMBA: "samba",
    SAMBA_SPNUPDATE: "samba",
    SAMBA_TOOL: "samba-common-bin",
    # samba-tool domain provision reads the AD schema from here
    "/usr/share/samba/setup/ad-schema/AD_DS_Attributes__Windows_Server_2012_R2.ldf": (
        "samba-ad-provision"
    ),
    # the DC's sam.ldb loads these; without them provision stops at the first ldb module
    f"{_SAMBA_LIB}/ldb/samba_dsdb.so": "samba-dsdb-modules",
    # every AD DC share uses the acl_xattr VFS module ("vfs_init_custom failed")
    f"{_SAMBA_LIB}/vfs/acl_xattr.so": "samba-vfs-modules",
    "/usr/lib/python3/dist-packages/samba/__init__.py": "python3-samba",
    "/usr/bin/ldbsearch": "ldb-tools",
    "/usr/lib/*/libjemalloc.so.2": "libjemalloc2",
    str(BIN_DIR / "postgres"): "postgresql-15",
    str(BIN_DIR / "initdb"): "postgresql-15",
    str(BIN_DIR / "pg_archivecleanup"): "postgresql-15",
    str(BIN_DIR / "psql"): "postgresql-client-15",
    str(BIN_DIR / "pg_basebackup"): "postgresql-client-15",
    "/usr/bin/kinit": "krb5-user",
    "/usr/bin/klist": "krb5-user",
    "/usr/bin/kvno": "krb5-user",
    "/usr/sbin/krb5kdc": "krb5-kdc",
    "/usr/sbin/kadmin.local": "krb5-admin-server",
    "/usr/bin/dig": "bind9-dnsutils",
    "/usr/bin/faketime": "faketime",
    UNSHARE: "util-linux",
    "/usr/bin/setpriv": "util-linux",
    "/bin/ip": "iproute2",
    # VPCs: namespaces and veths, their nft tables, and processes started inside them
    IP: "iproute2",
    NFT: "nftables",
    SYSCTL: "procps",
    "/usr/bin/nsenter": "util-linux",  # supervisor/process.py starts hosts in their netns
}
