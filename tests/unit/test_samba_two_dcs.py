"""Pure logic of the second DC: config rendering, the confined argv, the write target."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrealm.config import Settings
from pgrealm.engines import samba
from pgrealm.engines.samba import conf, dc


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A short temp dir: DC homes must stay under 64 characters (socket path limits)."""
    with tempfile.TemporaryDirectory(prefix="pgr-") as d:
        yield Path(d)


def _spec(tmp: Path, name: str, address: str) -> samba.DcSpec:
    domain = samba.DomainSpec(dns_name="corp.example.com", netbios="CORP")
    return samba.DcSpec(domain=domain, hostname=name, address=address, home=tmp / name)


def test_dc_configs_put_the_peer_kdc_first_and_resolve_on_loopback(tmp_path: Path) -> None:
    dc2 = _spec(tmp_path, "IP-0A000B0B", "127.1.0.11")
    conf.write_dc_configs(dc2, ["127.1.0.10", "127.1.0.11"])
    krb5 = dc2.paths.krb5_conf.read_text()
    assert krb5.index("kdc = 127.1.0.10") < krb5.index("kdc = 127.1.0.11")
    resolv = dc2.paths.resolv_conf.read_text()
    assert "nameserver 127.1.0.10\nnameserver 127.1.0.11\n" in resolv
    smb = dc2.paths.smb_conf.read_text()
    assert "dreplsrv:notify_interval = 1" in smb and "kccsrv:samba_kcc = no" in smb


def test_resolv_conf_is_rewritten_in_place(tmp_path: Path) -> None:
    dc1 = _spec(tmp_path, "IP-0A000A0A", "127.1.0.10")
    conf.write_dc_configs(dc1)
    inode = dc1.paths.resolv_conf.stat().st_ino
    conf.write_dc_configs(dc1, ["127.1.0.10", "127.1.0.11"])
    assert dc1.paths.resolv_conf.stat().st_ino == inode  # a running DC has it bind-mounted
    assert "127.1.0.11" in dc1.paths.resolv_conf.read_text()


def test_only_addresses_go_into_a_dcs_resolv_conf() -> None:
    assert "nameserver 10.0.0.2" in conf.render_resolv_conf(["10.0.0.2"])
    with pytest.raises(ValueError):
        conf.render_resolv_conf(["10.0.0.2\noptions rotate"])


def test_dc_runs_samba_itself_in_a_mount_namespace(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "IP-0A000A0A", "127.1.0.10")
    argv = dc.dc_argv(spec)
    assert argv[0] == dc.UNSHARE and "--mount" in argv
    assert argv[argv.index(str(spec.paths.resolv_conf)) + 1] == dc.SAMBA
    assert 'exec "$@"' in argv[argv.index("-c") + 1]  # exec: the PID stays samba's


def test_a_dc_without_a_live_process_is_not_alive(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "IP-0A000A0A", "127.1.0.10")
    assert not dc.dc_alive(spec)
    spec.paths.run.mkdir(parents=True)
    spec.paths.pid_file.write_text("999999999\n")
    assert not dc.dc_alive(spec)


def test_an_enterprise_directory_runs_prefork_dcs_with_a_kdc_worker_per_core(
    tmp_path: Path,
) -> None:
    from pgrealm.gateways.directory import dc_spec

    settings = Settings.from_env({"PGREALM_HOME": str(tmp_path)})
    doc = {"aws": {"DirectoryId": "d-1234567890", "Name": "corp.example.com", "ShortName": "CORP"}}
    dc1 = {
        "name": "dc1",
        "hostname": "IP-0A000A0A",
        "address": "198.19.240.16",
        "vpc_ip": "10.0.10.10",
    }
    models = {}
    for edition in ("Standard", "Enterprise"):
        spec = dc_spec(settings, {"aws": {**doc["aws"], "Edition": edition}}, dc1)
        models[edition] = spec.process_model
        rendered = conf.render_smb_conf(spec)
        assert f"--model={spec.process_model}" in dc.dc_argv(spec)
        assert ("prefork children:kdc" in rendered) == (edition == "Enterprise")
    assert models == {"Standard": "single", "Enterprise": "prefork"}
    assert conf.prefork_options(cpus=1) == ("prefork children = 1", "prefork children:kdc = 2")
    assert conf.prefork_options(cpus=16)[1] == "prefork children:kdc = 4"


def test_dcs_run_on_jemalloc_with_ldb_deepbind_off(tmp_path: Path) -> None:
    env = dc.dc_env(_spec(tmp_path, "IP-0A000A0A", "127.1.0.10"))
    assert env["LD_PRELOAD"].endswith("/libjemalloc.so.2")
    assert Path(env["LD_PRELOAD"]).exists()
    # without this, ldb's RTLD_DEEPBIND modules free jemalloc memory with glibc's free()
    assert env["LDB_MODULES_DISABLE_DEEPBIND"] == "1"
    assert "dirty_decay_ms:0" in env["MALLOC_CONF"]
