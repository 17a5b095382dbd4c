"""The catalog calls tools and the console make, through the aws CLI: what the installed
PostgreSQL is, which classes are orderable, the account's quotas, pending maintenance."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _installed() -> str:
    out = subprocess.run(
        ["/usr/lib/postgresql/15/bin/postgres", "--version"], capture_output=True, text=True
    ).stdout
    found = re.search(r"\(PostgreSQL\) (\d+\.\d+)", out)
    assert found, out
    return found.group(1)


def test_engine_versions_are_what_is_installed(stack: StackHandle) -> None:
    out = stack.aws("rds", "describe-db-engine-versions", "--engine", "postgres")
    (version,) = out["DBEngineVersions"]
    assert version["EngineVersion"] == _installed()
    assert version["DBParameterGroupFamily"] == "postgres15"
    assert version["Status"] == "available"
    none = stack.aws("rds", "describe-db-engine-versions", "--engine", "mysql")
    assert none["DBEngineVersions"] == []


def test_orderable_options_say_kerberos(stack: StackHandle) -> None:
    out = stack.aws(
        "rds",
        "describe-orderable-db-instance-options",
        "--engine",
        "postgres",
        "--db-instance-class",
        "db.t3.micro",
    )
    (option,) = out["OrderableDBInstanceOptions"]
    assert option["SupportsKerberosAuthentication"] is True
    assert option["EngineVersion"] == _installed() and option["Vpc"] is True
    assert len(option["AvailabilityZones"]) >= 2


def test_quotas_and_maintenance(stack: StackHandle) -> None:
    quotas = stack.aws("rds", "describe-account-attributes")["AccountQuotas"]
    names = {q["AccountQuotaName"]: q for q in quotas}
    assert names["DBInstances"]["Max"] == 40 and names["DBInstances"]["Used"] >= 0
    pending = stack.aws("rds", "describe-pending-maintenance-actions")
    assert pending["PendingMaintenanceActions"] == []


def _create_option_group(stack: StackHandle, description: str, check: bool = True) -> Any:
    return stack.aws(
        "rds",
        "create-option-group",
        *("--option-group-name", "kerb-og", "--engine-name", "postgres"),
        *("--major-engine-version", "15", "--option-group-description", description),
        check=check,
    )


def test_option_groups_as_rds_has_them_for_postgres(stack: StackHandle) -> None:
    groups = stack.aws("rds", "describe-option-groups", "--engine-name", "postgres")
    assert [g["OptionGroupName"] for g in groups["OptionGroupsList"]] == ["default:postgres-15"]
    options = stack.aws("rds", "describe-option-group-options", "--engine-name", "postgres")
    assert options["OptionGroupOptions"] == []
    made = _create_option_group(stack, "empty, as for any postgres")["OptionGroup"]
    assert made["OptionGroupArn"].endswith(":og:kerb-og") and made["Options"] == []
    again = _create_option_group(stack, "twice", check=False)
    assert again.returncode != 0 and "OptionGroupAlreadyExistsFault" in again.stderr
    refused = stack.aws(
        "rds", "delete-option-group", "--option-group-name", "default:postgres-15", check=False
    )
    assert refused.returncode != 0 and "InvalidOptionGroupStateFault" in refused.stderr
    stack.aws("rds", "delete-option-group", "--option-group-name", "kerb-og")
    gone = stack.aws("rds", "describe-option-groups", "--option-group-name", "kerb-og", check=False)
    assert gone.returncode != 0 and "OptionGroupNotFoundFault" in gone.stderr


def test_directory_limits(stack: StackHandle, directory: dict[str, object]) -> None:
    limits = stack.aws("ds", "get-directory-limits")["DirectoryLimits"]
    assert limits["CloudOnlyMicrosoftADLimit"] == 20
    assert limits["CloudOnlyMicrosoftADCurrentCount"] >= 1
    assert limits["CloudOnlyMicrosoftADLimitReached"] is False
