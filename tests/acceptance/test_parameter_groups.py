"""DB parameter groups on a real instance: krb_caseins_users lets a Kerberos principal log
in to a role whose name differs in case, a dynamic setting applies at once, a static one
waits for a reboot, and what RDS refuses is refused."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.acceptance.conftest import REALM, new_password
from tests.acceptance.test_seed_flow import kinit, new_directory_user, new_instance, psql
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

GROUP = "kerb-params"


def _code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return str(caught.value.response["Error"]["Code"])


def _applied(stack: StackHandle, ident: str, status: str) -> dict[str, Any]:
    rds = stack.client("rds")

    def reached() -> Any:
        inst = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        group = inst["DBParameterGroups"][0]
        done = inst["DBInstanceStatus"] == "available" and group["ParameterApplyStatus"] == status
        return inst if done else None

    result: dict[str, Any] = stack.wait(f"parameters {status}", reached, 60)
    return result


def test_a_parameter_group_configures_a_kerberos_instance(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, kerberos: dict[str, str]
) -> None:
    rds = stack.client("rds")
    stack.aws(
        "rds", "create-db-parameter-group", "--db-parameter-group-name", GROUP,
        "--db-parameter-group-family", "postgres15", "--description", "Kerberos",
    )  # fmt: skip
    rds.modify_db_parameter_group(
        DBParameterGroupName=GROUP,
        Parameters=[
            {"ParameterName": "krb_caseins_users", "ParameterValue": "1"},
            {"ParameterName": "work_mem", "ParameterValue": "8192"},
        ],
    )
    inst, password = new_instance(
        stack,
        "caseins",
        BackupRetentionPeriod=0,
        DBParameterGroupName=GROUP,
        Domain=directory["DirectoryId"],
        DomainIAMRoleName=rds_role,
    )
    assert inst["DBParameterGroups"] == [
        {"DBParameterGroupName": GROUP, "ParameterApplyStatus": "in-sync"}
    ]
    host = inst["Endpoint"]["Address"]
    master_env = {"PATH": os.environ["PATH"], "PGPASSWORD": password}
    master = f"host={host} port=5432 dbname=postgres user=master"

    # The role is "Zed@REALM"; the principal, as AD spells it, is zed@REALM.
    did = directory["DirectoryId"]
    zed_pw = new_directory_user(stack, did, "zed")
    sql = f'CREATE USER "Zed@{REALM}" WITH LOGIN; GRANT rds_ad TO "Zed@{REALM}"'
    assert psql(master_env, master, sql).returncode == 0
    assert kinit(kerberos, f"zed@{REALM}", zed_pw).returncode == 0
    login = psql(
        kerberos,
        f"host={host} port=5432 dbname=postgres user=Zed@{REALM}",
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid();"
        "SHOW work_mem",
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.split() == [f"Zed@{REALM}|t", "8MB"]

    # Dynamic: applied at once. Static: pending-reboot until the instance is rebooted.
    rds.modify_db_parameter_group(
        DBParameterGroupName=GROUP,
        Parameters=[{"ParameterName": "work_mem", "ParameterValue": "16384"}],
    )
    _applied(stack, "caseins", "in-sync")
    assert psql(master_env, master, "SHOW work_mem").stdout.strip() == "16MB"
    rds.modify_db_parameter_group(
        DBParameterGroupName=GROUP,
        Parameters=[
            {
                "ParameterName": "shared_buffers",
                "ParameterValue": "32768",
                "ApplyMethod": "pending-reboot",
            }
        ],
    )
    _applied(stack, "caseins", "pending-reboot")
    assert psql(master_env, master, "SHOW shared_buffers").stdout.strip() == "128MB"
    rds.reboot_db_instance(DBInstanceIdentifier="caseins")
    _applied(stack, "caseins", "in-sync")
    assert psql(master_env, master, "SHOW shared_buffers").stdout.strip() == "256MB"

    mine = rds.describe_db_parameters(DBParameterGroupName=GROUP, Source="user")["Parameters"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in mine} == {
        "krb_caseins_users": "1",
        "shared_buffers": "32768",
        "work_mem": "16384",
    }
    assert {p["ParameterName"]: p["ApplyType"] for p in mine}["shared_buffers"] == "static"
    assert _code(rds.delete_db_parameter_group, DBParameterGroupName=GROUP) == (
        "InvalidDBParameterGroupState"
    )
    rds.delete_db_instance(DBInstanceIdentifier="caseins", SkipFinalSnapshot=True)


def test_parameter_group_requests_rds_refuses(stack: StackHandle) -> None:
    rds = stack.client("rds")
    create, modify = rds.create_db_parameter_group, rds.modify_db_parameter_group
    rds.create_db_parameter_group(
        DBParameterGroupName="refusals", DBParameterGroupFamily="postgres15", Description="x"
    )
    assert _code(
        create, DBParameterGroupName="refusals", DBParameterGroupFamily="postgres15",
        Description="x",
    ) == "DBParameterGroupAlreadyExists"  # fmt: skip
    assert _code(
        create, DBParameterGroupName="p16", DBParameterGroupFamily="postgres16", Description="x"
    ) == "InvalidParameterValue"  # fmt: skip

    def change(group: str, name: str, value: str, method: str = "immediate") -> str:
        parameter = {"ParameterName": name, "ParameterValue": value, "ApplyMethod": method}
        return _code(modify, DBParameterGroupName=group, Parameters=[parameter])

    assert change("default.postgres15", "work_mem", "8192") == "InvalidParameterValue"
    assert change("refusals", "no_such_setting", "1") == "InvalidParameterValue"
    assert change("refusals", "listen_addresses", "*") == "InvalidParameterValue"
    assert change("refusals", "krb_caseins_users", "maybe") == "InvalidParameterValue"
    assert change("refusals", "work_mem", "1") == "InvalidParameterValue"  # below 64
    assert change("refusals", "shared_buffers", "32768") == "InvalidParameterCombination"
    assert change("nosuch", "work_mem", "8192") == "DBParameterGroupNotFound"
    assert _code(
        rds.create_db_instance, DBInstanceIdentifier="nogroup", DBInstanceClass="db.t3.micro",
        Engine="postgres", MasterUsername="master", MasterUserPassword=new_password(),
        DBParameterGroupName="nosuch",
    ) == "DBParameterGroupNotFound"  # fmt: skip
    names = [
        g["DBParameterGroupName"] for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
    ]
    assert names[0] == "default.postgres15" and "refusals" in names
    rds.delete_db_parameter_group(DBParameterGroupName="refusals")
    assert _code(rds.describe_db_parameter_groups, DBParameterGroupName="refusals") == (
        "DBParameterGroupNotFound"
    )
