"""TLS on DB instances, as RDS serves it, through the aws CLI and psql: describe-
certificates lists the RDS CAs, ``pgrealm client rds-ca-bundle`` prints them as AWS's
global bundle, psql with sslmode=verify-full checks the instance's certificate against
it, and modify-db-instance --ca-certificate-identifier moves the instance to another CA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import new_password
from tests.acceptance.test_doctor import pgrealm
from tests.acceptance.test_seed_flow import psql
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

_ASK = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


def _verified(env: dict[str, str], endpoint: str, root: Path) -> Any:
    return psql(env, f"host={endpoint} dbname=postgres user=master sslmode=verify-full "
                f"sslrootcert={root} gssencmode=disable", _ASK)  # fmt: skip


def test_verify_full_against_the_rds_bundle(stack: StackHandle, tmp_path: Path) -> None:
    listed = stack.aws("rds", "describe-certificates")
    ids = [c["CertificateIdentifier"] for c in listed["Certificates"]]
    assert set(ids) == {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}
    assert listed["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    missing = stack.aws("rds", "describe-certificates", "--certificate-identifier", "rds-ca-x",
                        check=False)  # fmt: skip
    assert "(CertificateNotFound)" in missing.stderr, missing.stderr

    master = new_password()
    bogus = stack.aws("rds", "create-db-instance", "--db-instance-identifier", "tlsdb",
                      "--db-instance-class", "db.t3.micro", "--engine", "postgres",
                      "--master-username", "master", "--ca-certificate-identifier", "rds-ca-x",
                      inputs={"MasterUserPassword": master}, check=False)  # fmt: skip
    assert "(CertificateNotFound)" in bogus.stderr, bogus.stderr
    made = stack.aws("rds", "create-db-instance", "--db-instance-identifier", "tlsdb",
                     "--db-instance-class", "db.t3.micro", "--engine", "postgres",
                     "--master-username", "master", "--backup-retention-period", "0",
                     inputs={"MasterUserPassword": master})["DBInstance"]  # fmt: skip
    assert made["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    endpoint = stack.wait(
        "tlsdb to be available",
        lambda: (i := stack.aws("rds", "describe-db-instances", "--db-instance-identifier",
                                "tlsdb")["DBInstances"][0])["DBInstanceStatus"] == "available"
        and i["Endpoint"]["Address"],
        timeout=120,
    )  # fmt: skip

    bundle = tmp_path / "global-bundle.pem"
    written = pgrealm(stack, stack.env, "client", "rds-ca-bundle", "-o", str(bundle))
    assert written.returncode == 0, written.stderr
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": master}
    done = _verified(env, endpoint, bundle)
    assert done.returncode == 0 and done.stdout.strip() == "t", done

    # Each CA alone: only the instance's own lets verify-full through.
    pems = [p + "-----END CERTIFICATE-----\n" for p in bundle.read_text().split(
        "-----END CERTIFICATE-----\n") if p.strip()]  # fmt: skip
    by_id = dict(zip(ids, pems, strict=True))
    for ident, pem in by_id.items():
        (tmp_path / f"{ident}.pem").write_text(pem)
    refused = _verified(env, endpoint, tmp_path / "rds-ca-ecc384-g1.pem")
    assert refused.returncode != 0 and "certificate verify failed" in refused.stderr, refused

    stack.aws(
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        "tlsdb",
        "--ca-certificate-identifier",
        "rds-ca-ecc384-g1",
        "--apply-immediately",
    )
    stack.wait(
        "tlsdb to serve a certificate from rds-ca-ecc384-g1",
        lambda: _verified(env, endpoint, tmp_path / "rds-ca-ecc384-g1.pem").returncode == 0,
        timeout=60,
    )
    shown = stack.aws("rds", "describe-db-instances", "--db-instance-identifier", "tlsdb")
    assert shown["DBInstances"][0]["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    stack.aws("rds", "delete-db-instance", "--db-instance-identifier", "tlsdb",
              "--skip-final-snapshot")  # fmt: skip
