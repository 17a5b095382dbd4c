"""Renders the krb5.conf a client needs for a directory (seed step 7).

``rdns = false`` and ``dns_canonicalize_hostname = false`` because the instance's
service principal is named after its endpoint, which must not be rewritten through
reverse DNS; every KDC of the directory is listed so a client survives one DC down.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_krb5_conf"]


def render_krb5_conf(realm: str, kdcs: Sequence[str], host_names: Sequence[str] = ()) -> str:
    realm = realm.upper()
    domain = realm.lower()
    kdc_lines = "".join(f"        kdc = {a}\n" for a in kdcs)
    admin_lines = "".join(f"        kpasswd_server = {a}\n" for a in kdcs)
    host_lines = "".join(f"    {h} = {realm}\n" for h in host_names)
    return (
        "# krb5.conf for the pgrealm directory " + domain + " (managed by pgrealm)\n"
        "[libdefaults]\n"
        f"    default_realm = {realm}\n"
        "    dns_lookup_kdc = false\n"
        "    dns_lookup_realm = false\n"
        "    rdns = false\n"
        "    dns_canonicalize_hostname = false\n"
        "\n[realms]\n"
        f"    {realm} = {{\n{kdc_lines}{admin_lines}        admin_server = {kdcs[0]}\n    }}\n"
        "\n[domain_realm]\n"
        f"    .{domain} = {realm}\n    {domain} = {realm}\n{host_lines}"
    )
