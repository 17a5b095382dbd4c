"""Model validation: botocore's checks plus max/enum/pattern, with each service's code."""

from __future__ import annotations

from typing import Any

import pytest
from shapegen import generate

from pgrealm.api.specs import load_service
from pgrealm.api.validate import validate
from pgrealm.services.errors import CommonError


def _fail(service: str, operation: str, params: dict[str, Any]) -> CommonError:
    op = load_service(service).operation_model(operation)
    with pytest.raises(CommonError) as caught:
        validate(op, params)
    return caught.value


def test_valid_input_passes() -> None:
    op = load_service("ds").operation_model("CreateMicrosoftAD")
    validate(
        op,
        {
            "Name": "corp.example.com",
            "Password": "Sup3r-secret!",
            "VpcSettings": {"VpcId": "vpc-12345678", "SubnetIds": ["subnet-1234abcd"]},
            "Edition": "Standard",
        },
    )


def test_ds_missing_required_uses_its_modeled_code() -> None:
    error = _fail("ds", "CreateMicrosoftAD", {"Name": "corp.example.com"})
    assert error.code == "InvalidParameterException"
    assert error.status == 400
    assert error.message.startswith("2 validation errors detected: ")
    assert "Value null at 'password' failed to satisfy constraint: Member must not be null" in (
        error.message
    )
    assert "at 'vpcSettings'" in error.message


def test_ds_pattern_enum_and_secret_not_echoed() -> None:
    params = {
        "Name": "not a domain!",
        "Password": "short",
        "VpcSettings": {"VpcId": "vpc-12345678", "SubnetIds": ["nope"]},
        "Edition": "Gold",
    }
    error = _fail("ds", "CreateMicrosoftAD", params)
    message = error.message
    assert "Value 'not a domain!' at 'name' failed to satisfy constraint: Member must satisfy" in (
        message
    )
    assert "at 'vpcSettings.subnetIds.1.member'" in message
    assert "Value 'Gold' at 'edition' failed to satisfy constraint: Member must satisfy enum" in (
        message
    )
    assert "short" not in message  # Password is sensitive


def test_ds_data_validation_exception() -> None:
    error = _fail("ds-data", "DescribeUser", {"DirectoryId": "d-1234567890"})
    assert error.code == "ValidationException"
    assert "at 'sAMAccountName'" in error.message


def test_iam_validation_error_and_max_length() -> None:
    error = _fail("iam", "GetRole", {"RoleName": "r" * 65})
    assert error.code == "ValidationError"
    assert error.message == (
        "1 validation error detected: Value '" + "r" * 65 + "' at 'roleName' failed to "
        "satisfy constraint: Member must have length less than or equal to 64"
    )


def test_rds_and_ec2_codes() -> None:
    assert _fail("rds", "CreateDBInstance", {}).code == "MissingParameter"
    assert "DBInstanceIdentifier" in _fail("rds", "CreateDBInstance", {}).message
    error = _fail("rds", "DescribeDBInstances", {"MaxRecords": "x"})
    assert error.code == "InvalidParameterValue"
    error = _fail("ec2", "CreateVpc", {"CidrBlock": "10.0.0.0/16", "InstanceTenancy": "shared"})
    assert error.code == "InvalidParameterValue"


@pytest.mark.parametrize("service", ["ds", "ds-data", "iam", "sts", "rds", "ec2"])
def test_generated_inputs_only_fail_on_patterns(service: str) -> None:
    """Inputs that respect min/max/enum/required pass everything but patterns."""
    model = load_service(service)
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.input_shape is None:
            continue
        try:
            validate(op, generate(op.input_shape))
        except CommonError as exc:
            clauses = exc.message.split(": ", 1)[1].split("; Value")
            assert all("regular expression pattern" in c for c in clauses), (name, exc.message)
