"""Network ACLs through Ec2Service against a real Store: every VPC's default ACL, entries,
the one ACL every subnet has, and the subnet -> ACL rule the network reconciler reads."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.parsers import create_parser as botocore_parser

from pgrealm.api.protocols import create_serializer
from pgrealm.api.specs import load_service
from pgrealm.model.network import network_acl_for_subnet
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.services.ec2._common import ACL
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.store import Store

ACCOUNT = "111111111111"
REGION = "us-west-2"
ALL = {"CidrBlock": "0.0.0.0/0", "Protocol": "-1"}


def ctx() -> RequestContext:
    return RequestContext(account_id=ACCOUNT, region=REGION, request_id="r", service="ec2")


def refused(call: Any, params: dict[str, Any]) -> str:
    with pytest.raises(ServiceError) as err:
        call(ctx(), params)
    assert isinstance(err.value, CommonError)
    return err.value.code


def vpc(ec2: Ec2Service, cidr: str) -> str:
    return str(ec2.create_vpc(ctx(), {"CidrBlock": cidr})["Vpc"]["VpcId"])


def subnet(ec2: Ec2Service, vpc_id: str, cidr: str) -> str:
    return str(ec2.create_subnet(ctx(), {"VpcId": vpc_id, "CidrBlock": cidr})["Subnet"]["SubnetId"])


def acls(ec2: Ec2Service, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    flts = [{"Name": k, "Values": [v]} for k, v in (filters or {}).items()]
    found: list[dict[str, Any]] = ec2.describe_network_acls(ctx(), {"Filters": flts})["NetworkAcls"]
    return found


def acl(ec2: Ec2Service, acl_id: str) -> dict[str, Any]:
    [found] = ec2.describe_network_acls(ctx(), {"NetworkAclIds": [acl_id]})["NetworkAcls"]
    return found  # type: ignore[no-any-return]


def default_of(ec2: Ec2Service, vpc_id: str) -> dict[str, Any]:
    [found] = acls(ec2, {"vpc-id": vpc_id, "default": "true"})
    return found


def entry(rule: int, egress: bool = False, **fields: Any) -> dict[str, Any]:
    return {"RuleNumber": rule, "Egress": egress, "RuleAction": "allow", **ALL, **fields}


def test_every_vpc_has_a_default_acl_governing_its_subnets(ec2: Ec2Service) -> None:
    [default] = acls(ec2)
    assert default["IsDefault"] is True and default["OwnerId"] == ACCOUNT
    assert default["Entries"] == [
        {**ALL, "Egress": True, "RuleAction": "allow", "RuleNumber": 100},
        {**ALL, "Egress": True, "RuleAction": "deny", "RuleNumber": 32767},
        {**ALL, "Egress": False, "RuleAction": "allow", "RuleNumber": 100},
        {**ALL, "Egress": False, "RuleAction": "deny", "RuleNumber": 32767},
    ]
    subnets = ec2.describe_subnets(ctx(), {})["Subnets"]
    assert sorted(a["SubnetId"] for a in default["Associations"]) == sorted(
        s["SubnetId"] for s in subnets
    )
    assert all(
        a["NetworkAclAssociationId"].startswith("aclassoc-") for a in default["Associations"]
    )
    vpc_id = vpc(ec2, "10.1.0.0/16")
    made = default_of(ec2, vpc_id)
    assert made["Associations"] == []
    subnet_id = subnet(ec2, vpc_id, "10.1.0.0/24")
    assert [a["SubnetId"] for a in default_of(ec2, vpc_id)["Associations"]] == [subnet_id]
    governing = network_acl_for_subnet(ec2.store, ACCOUNT, REGION, subnet_id)
    assert governing["NetworkAclId"] == made["NetworkAclId"]


def test_entries(ec2: Ec2Service, kicks: list[int]) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    made = ec2.create_network_acl(ctx(), {"VpcId": vpc_id})["NetworkAcl"]
    acl_id = made["NetworkAclId"]
    assert made["IsDefault"] is False
    assert [(e["RuleNumber"], e["RuleAction"]) for e in made["Entries"]] == [
        (32767, "deny"),
        (32767, "deny"),
    ]
    before = len(kicks)
    tcp = {
        "NetworkAclId": acl_id,
        "RuleNumber": 110,
        "Protocol": "tcp",
        "RuleAction": "allow",
        "Egress": False,
        "CidrBlock": "10.2.0.0/16",
        "PortRange": {"From": 5432, "To": 5432},
    }
    assert ec2.create_network_acl_entry(ctx(), tcp) == {}
    icmp = {**tcp, "RuleNumber": 120, "Protocol": "1", "IcmpTypeCode": {"Type": 8, "Code": -1}}
    ec2.create_network_acl_entry(ctx(), icmp)
    ec2.create_network_acl_entry(
        ctx(), {**tcp, "Egress": True, "PortRange": {"From": 1024, "To": 65535}}
    )
    entries = acl(ec2, acl_id)["Entries"]
    assert [(e["Egress"], e["RuleNumber"]) for e in entries] == [
        (True, 110),
        (True, 32767),
        (False, 110),
        (False, 120),
        (False, 32767),
    ]
    ingress_tcp = entries[2]
    assert ingress_tcp == {
        "RuleNumber": 110,
        "Protocol": "6",
        "RuleAction": "allow",
        "Egress": False,
        "CidrBlock": "10.2.0.0/16",
        "PortRange": {"From": 5432, "To": 5432},
    }
    assert entries[3]["IcmpTypeCode"] == {"Type": 8, "Code": -1} and "PortRange" not in entries[3]
    with pytest.raises(CommonError) as err:
        ec2.create_network_acl_entry(ctx(), tcp)
    assert err.value.code == "NetworkAclEntryAlreadyExists"
    assert err.value.message == "The network acl entry identified by 110 already exists."
    ec2.replace_network_acl_entry(ctx(), {**tcp, "RuleAction": "deny", "Protocol": "-1"})
    replaced = acl(ec2, acl_id)["Entries"][2]
    assert replaced["RuleAction"] == "deny" and "PortRange" not in replaced
    ec2.delete_network_acl_entry(ctx(), {"NetworkAclId": acl_id, "RuleNumber": 110, "Egress": True})
    assert [e["RuleNumber"] for e in acl(ec2, acl_id)["Entries"] if e["Egress"]] == [32767]
    assert len(kicks) - before == 5


def test_entry_refusals(ec2: Ec2Service, store: Store) -> None:
    acl_id = default_of(ec2, vpc(ec2, "10.1.0.0/16"))["NetworkAclId"]
    base = {"NetworkAclId": acl_id, **entry(130)}
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (ec2.create_network_acl_entry, {**base, "RuleNumber": 100}, "NetworkAclEntryAlreadyExists"),
        (ec2.create_network_acl_entry, {**base, "RuleNumber": 0}, "InvalidParameterValue"),
        (ec2.create_network_acl_entry, {**base, "RuleNumber": 32767}, "InvalidParameterValue"),
        (ec2.create_network_acl_entry, {**base, "Protocol": "ipx"}, "InvalidParameterValue"),
        (ec2.create_network_acl_entry, {**base, "Protocol": "256"}, "InvalidParameterValue"),
        (ec2.create_network_acl_entry, {**base, "Protocol": "6"}, "MissingParameter"),
        (
            ec2.create_network_acl_entry,
            {**base, "Protocol": "17", "PortRange": {"From": 90, "To": 80}},
            "InvalidParameterValue",
        ),
        (ec2.create_network_acl_entry, {**base, "Protocol": "icmp"}, "MissingParameter"),
        (
            ec2.create_network_acl_entry,
            {**base, "CidrBlock": "10.0.0.0/33"},
            "InvalidParameterValue",
        ),
        (
            ec2.create_network_acl_entry,
            {k: v for k, v in base.items() if k != "CidrBlock"},
            "MissingParameter",
        ),
        (
            ec2.create_network_acl_entry,
            {**base, "NetworkAclId": "acl-0123456789abcdef0"},
            "InvalidNetworkAclID.NotFound",
        ),
        (ec2.replace_network_acl_entry, base, "InvalidNetworkAclEntry.NotFound"),
        (
            ec2.delete_network_acl_entry,
            {"NetworkAclId": acl_id, "RuleNumber": 130, "Egress": False},
            "InvalidNetworkAclEntry.NotFound",
        ),
        (
            ec2.delete_network_acl_entry,
            {"NetworkAclId": acl_id, "RuleNumber": 32767, "Egress": False},
            "InvalidParameterValue",
        ),
    ]
    for call, params, expected in cases:
        assert refused(call, params) == expected, params
    assert len(store.get(ACL, ACCOUNT, REGION, acl_id)["Entries"]) == 4  # type: ignore[index]


def test_associations_and_deletion(ec2: Ec2Service) -> None:
    vpc_id, elsewhere = vpc(ec2, "10.1.0.0/16"), vpc(ec2, "10.2.0.0/16")
    subnet_id = subnet(ec2, vpc_id, "10.1.0.0/24")
    default = default_of(ec2, vpc_id)
    custom = ec2.create_network_acl(ctx(), {"VpcId": vpc_id})["NetworkAcl"]["NetworkAclId"]
    [association] = default["Associations"]
    moved = ec2.replace_network_acl_association(
        ctx(), {"AssociationId": association["NetworkAclAssociationId"], "NetworkAclId": custom}
    )
    new_id = moved["NewAssociationId"]
    assert new_id != association["NetworkAclAssociationId"]
    assert network_acl_for_subnet(ec2.store, ACCOUNT, REGION, subnet_id)["NetworkAclId"] == custom
    assert [a["NetworkAclId"] for a in acls(ec2, {"association.association-id": new_id})] == [
        custom
    ]
    assert default_of(ec2, vpc_id)["Associations"] == []
    assert refused(ec2.delete_network_acl, {"NetworkAclId": custom}) == "DependencyViolation"
    with pytest.raises(CommonError) as err:
        ec2.delete_network_acl(ctx(), {"NetworkAclId": default["NetworkAclId"]})
    assert err.value.code == "InvalidParameterValue"
    assert err.value.message == f"cannot delete default network ACL {default['NetworkAclId']}"
    foreign = default_of(ec2, elsewhere)["NetworkAclId"]
    assert refused(
        ec2.replace_network_acl_association, {"AssociationId": new_id, "NetworkAclId": foreign}
    ) == ("InvalidParameterValue")
    missing = {"AssociationId": "aclassoc-0123456789abcdef0", "NetworkAclId": custom}
    assert refused(ec2.replace_network_acl_association, missing) == (
        "InvalidAssociationID.NotFound"
    )
    # The VPC waits for its own ACLs, and a deleted subnet gives its association up.
    assert refused(ec2.delete_vpc, {"VpcId": vpc_id}) == "DependencyViolation"
    ec2.delete_subnet(ctx(), {"SubnetId": subnet_id})
    assert acl(ec2, custom)["Associations"] == []
    ec2.delete_network_acl(ctx(), {"NetworkAclId": custom})
    ec2.delete_vpc(ctx(), {"VpcId": vpc_id})
    assert acls(ec2, {"vpc-id": vpc_id}) == []


def test_filters(ec2: Ec2Service) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    custom = ec2.create_network_acl(
        ctx(),
        {
            "VpcId": vpc_id,
            "TagSpecifications": [{"ResourceType": "network-acl", "Tags": [{"Key": "tier"}]}],
        },
    )["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        ctx(),
        {
            "NetworkAclId": custom,
            **entry(140, Protocol="udp", CidrBlock="10.9.0.0/16"),
            "PortRange": {"From": 53, "To": 53},
        },
    )
    cases = [
        ({"network-acl-id": custom}, 1),
        ({"vpc-id": vpc_id}, 2),
        ({"default": "false"}, 1),
        ({"default": "true"}, 2),
        ({"entry.rule-number": "140"}, 1),
        ({"entry.protocol": "udp"}, 1),
        ({"entry.protocol": "17"}, 1),
        ({"entry.cidr": "10.9.0.0/16"}, 1),
        ({"entry.port-range.from": "53"}, 1),
        ({"entry.rule-action": "deny", "vpc-id": vpc_id}, 2),
        ({"entry.egress": "true", "vpc-id": vpc_id}, 2),
        ({"tag-key": "tier"}, 1),
        ({"owner-id": ACCOUNT}, 3),
    ]
    for filters, count in cases:
        assert len(acls(ec2, filters)) == count, filters
    assert refused(ec2.describe_network_acls, {"NetworkAclIds": ["acl-0123456789abcdef0"]}) == (
        "InvalidNetworkAclID.NotFound"
    )


def test_create_refusals_and_client_token(ec2: Ec2Service) -> None:
    missing = {"VpcId": "vpc-0123456789abcdef0"}
    assert refused(ec2.create_network_acl, missing) == "InvalidVpcID.NotFound"
    vpc_id = vpc(ec2, "10.1.0.0/16")
    params = {"VpcId": vpc_id, "ClientToken": "tok"}
    first = ec2.create_network_acl(ctx(), params)
    again = ec2.create_network_acl(ctx(), params)
    assert again["NetworkAcl"]["NetworkAclId"] == first["NetworkAcl"]["NetworkAclId"]
    assert again["ClientToken"] == "tok"
    assert len(acls(ec2, {"vpc-id": vpc_id})) == 2


def test_outputs_read_back_as_the_cli_reads_them(ec2: Ec2Service) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    subnet(ec2, vpc_id, "10.1.0.0/24")
    made = ec2.create_network_acl(ctx(), {"VpcId": vpc_id})
    assert wire("CreateNetworkAcl", made) == made
    acl_id = made["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        ctx(),
        {
            "NetworkAclId": acl_id,
            **entry(100, Protocol="1"),
            "IcmpTypeCode": {"Type": 0, "Code": 0},
        },
    )
    described = ec2.describe_network_acls(ctx(), {})
    assert wire("DescribeNetworkAcls", described) == described
    association = default_of(ec2, vpc_id)["Associations"][0]["NetworkAclAssociationId"]
    replaced = ec2.replace_network_acl_association(
        ctx(), {"AssociationId": association, "NetworkAclId": acl_id}
    )
    assert wire("ReplaceNetworkAclAssociation", replaced) == replaced


def wire(operation: str, output: dict[str, Any]) -> dict[str, Any]:
    """``output`` as the AWS CLI reads it: pgrealm's serializer, then botocore's parser."""
    model = load_service("ec2")
    op = model.operation_model(operation)
    response = create_serializer(model, "ec2").serialize_response(op, output, "r")
    raw = {"status_code": response.status, "headers": dict(response.headers), "body": response.body}
    parsed: dict[str, Any] = botocore_parser("ec2").parse(raw, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed
