"""The krb5.conf a client needs for a directory (seed step 7): render it, write it, read one.

``rdns = false`` and ``dns_canonicalize_hostname = false`` because the instance's
service principal is named after its endpoint, which must not be rewritten through
reverse DNS; every DC of the directory is listed as KDC and kpasswd server so a
client survives one DC down. The endpoint names are mapped to the realm in
``[domain_realm]``: the endpoint domain is not the directory's, and without the
mapping libkrb5 would not know which realm serves ``postgres/<endpoint>``
(https://web.mit.edu/kerberos/krb5-latest/doc/admin/conf_files/krb5_conf.html).

:func:`parse_krb5_conf` reads the profile format just well enough for the doctor:
sections, relations, and one level of ``{ }`` subsections (the realms).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Krb5Conf", "krb5_conf_paths", "parse_krb5_conf", "render_krb5_conf", "write_atomic"]

DEFAULT_PATH = Path("/etc/krb5.conf")


def render_krb5_conf(
    realm: str,
    kdcs: Sequence[str],
    host_names: Sequence[str] = (),
    trusted: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """``trusted``: other realms and their KDCs, a forest the directory trusts, whose users
    kinit there and get the instance's service ticket from ``realm`` across the trust."""
    realm = realm.upper()
    domain = realm.lower()
    kdc_lines = "".join(f"        kdc = {a}\n" for a in kdcs)
    admin_lines = "".join(f"        kpasswd_server = {a}\n" for a in kdcs)
    host_lines = "".join(f"    {h} = {realm}\n" for h in host_names)
    realms = f"    {realm} = {{\n{kdc_lines}{admin_lines}        admin_server = {kdcs[0]}\n    }}\n"
    for other, other_kdcs in (trusted or {}).items():
        other_lines = "".join(f"        kdc = {a}\n" for a in other_kdcs)
        realms += f"    {other.upper()} = {{\n{other_lines}    }}\n"
        host_lines += f"    .{other.lower()} = {other.upper()}\n"
    return (
        "# krb5.conf for the pgrealm directory " + domain + " (managed by pgrealm)\n"
        "[libdefaults]\n"
        f"    default_realm = {realm}\n"
        "    dns_lookup_kdc = false\n"
        "    dns_lookup_realm = false\n"
        "    rdns = false\n"
        "    dns_canonicalize_hostname = false\n"
        f"\n[realms]\n{realms}"
        "\n[domain_realm]\n"
        f"    .{domain} = {realm}\n    {domain} = {realm}\n{host_lines}"
    )


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` through a temp file and rename: readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@dataclass
class Krb5Conf:
    """Relations of a krb5.conf: ``libdefaults`` and ``domain_realm`` flat, realms nested."""

    libdefaults: dict[str, list[str]] = field(default_factory=dict)
    realms: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    domain_realm: dict[str, str] = field(default_factory=dict)

    @property
    def default_realm(self) -> str | None:
        values = self.libdefaults.get("default_realm")
        return values[0] if values else None

    def flag(self, name: str, default: bool) -> bool:
        values = self.libdefaults.get(name)
        if not values:
            return default
        return values[0].lower() in ("true", "yes", "on", "1")


def krb5_conf_paths(env: dict[str, str]) -> list[Path]:
    """The files libkrb5 reads, in order: ``KRB5_CONFIG`` (colon-separated) or the default."""
    value = env.get("KRB5_CONFIG")
    if not value:
        return [DEFAULT_PATH]
    return [Path(p) for p in value.split(":") if p]


def parse_krb5_conf(text: str, into: Krb5Conf | None = None) -> Krb5Conf:
    """Parse one file; with ``into``, add to what earlier files said (the first value wins)."""
    conf = into if into is not None else Krb5Conf()
    section, realm = "", None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section, realm = line[1:-1].strip(), None
            continue
        if line == "}":
            realm = None
            continue
        name, sep, value = line.partition("=")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if section == "realms" and value == "{":
            realm = name
            conf.realms.setdefault(name, {})
        elif section == "realms" and realm is not None:
            conf.realms[realm].setdefault(name, []).append(value)
        elif section == "libdefaults":
            conf.libdefaults.setdefault(name, []).append(value)
        elif section == "domain_realm":
            conf.domain_realm.setdefault(name, value)
    return conf
