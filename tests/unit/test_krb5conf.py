"""The client krb5.conf: its content, the doctor reading it back, the CLI usage."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pgrealm.cli.main import cli
from pgrealm.client.krb5conf import (
    krb5_conf_paths,
    parse_krb5_conf,
    render_krb5_conf,
    write_atomic,
)

DCS = ["127.70.0.4", "127.70.16.4"]
HOST = "db1.abc.us-east-1.rds.pgrealm.internal"


def test_render_names_realm_kdcs_kpasswd_and_hosts() -> None:
    conf = parse_krb5_conf(render_krb5_conf("corp.example.com", DCS, [HOST]))
    assert conf.default_realm == "CORP.EXAMPLE.COM"
    realm = conf.realms["CORP.EXAMPLE.COM"]
    assert realm["kdc"] == DCS and realm["kpasswd_server"] == DCS
    assert not conf.flag("rdns", True) and not conf.flag("dns_canonicalize_hostname", True)
    assert conf.domain_realm[HOST] == "CORP.EXAMPLE.COM"
    assert conf.domain_realm[".corp.example.com"] == "CORP.EXAMPLE.COM"


def test_parse_merges_files_first_value_wins() -> None:
    conf = parse_krb5_conf("[libdefaults]\n default_realm = A\n")
    parse_krb5_conf("[libdefaults]\n default_realm = B\n[realms]\n B = {\n kdc = x:88\n }\n", conf)
    assert conf.default_realm == "A" and conf.realms["B"]["kdc"] == ["x:88"]


def test_paths_follow_krb5_config() -> None:
    assert krb5_conf_paths({}) == [Path("/etc/krb5.conf")]
    assert krb5_conf_paths({"KRB5_CONFIG": "/a:/b"}) == [Path("/a"), Path("/b")]


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "krb5.conf"
    write_atomic(target, "x\n")
    assert target.read_text() == "x\n" and target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["krb5.conf"]


def test_cli_needs_exactly_one_target() -> None:
    result = CliRunner().invoke(cli, ["client", "krb5-conf"])
    assert result.exit_code == 2 and "exactly one" in result.output
