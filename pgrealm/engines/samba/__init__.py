"""Samba AD DC engine: provision a domain, run its DCs, manage users, SPNs and keytabs.

Modules: spec (DomainSpec, DcSpec, paths), conf (smb.conf/krb5.conf), provision,
join (a further DC, + _join_tool.py), dc (argv/env/readiness), directory (users,
passwords, service accounts, keytabs),
keytab (file format), tool + _samdb_tool.py (the sam.ldb helper run by Debian's python3),
errors. Nothing here knows about AWS.

With engines/homes.py, this module is the local :class:`pgrealm.engines.interfaces.
DirectoryEngine`: the reconcilers are handed it, and ask nothing else.
"""

from __future__ import annotations

from pgrealm.engines.homes import exists, free_bytes, remove_tree
from pgrealm.engines.samba.backup import backup_dc, restore_dc
from pgrealm.engines.samba.conf import (
    config_current,
    render_krb5_conf,
    render_smb_conf,
    write_dc_configs,
)
from pgrealm.engines.samba.dc import (
    allocator_env,
    dc_alive,
    dc_argv,
    dc_env,
    dc_pid,
    dc_ready,
    start_failure,
)
from pgrealm.engines.samba.directory import (
    create_user,
    delete_user,
    ensure_service_account,
    export_keytab,
    get_user,
    list_users,
    service_account_ou,
    set_enabled,
    set_password,
    update_user,
)
from pgrealm.engines.samba.errors import (
    AlreadyExistsError,
    NoSuchObjectError,
    PasswordPolicyError,
    SambaError,
)
from pgrealm.engines.samba.join import join_dc, ntds_guid, remove_dc
from pgrealm.engines.samba.provision import is_provisioned, provision_dc
from pgrealm.engines.samba.spec import DcSpec, DomainSpec
from pgrealm.engines.samba.tls import certificate_current, issue_dc_certificate, new_authority
from pgrealm.engines.samba.trust import create_trust, delete_trust, trust_exists, validate_trust

__all__ = [
    "AlreadyExistsError",
    "DcSpec",
    "DomainSpec",
    "NoSuchObjectError",
    "PasswordPolicyError",
    "SambaError",
    "allocator_env",
    "backup_dc",
    "certificate_current",
    "config_current",
    "create_trust",
    "create_user",
    "dc_alive",
    "dc_argv",
    "dc_env",
    "dc_pid",
    "dc_ready",
    "delete_trust",
    "delete_user",
    "ensure_service_account",
    "exists",
    "export_keytab",
    "free_bytes",
    "get_user",
    "is_provisioned",
    "issue_dc_certificate",
    "join_dc",
    "list_users",
    "new_authority",
    "ntds_guid",
    "provision_dc",
    "remove_dc",
    "remove_tree",
    "render_krb5_conf",
    "render_smb_conf",
    "restore_dc",
    "service_account_ou",
    "set_enabled",
    "set_password",
    "start_failure",
    "trust_exists",
    "update_user",
    "validate_trust",
    "write_dc_configs",
]
