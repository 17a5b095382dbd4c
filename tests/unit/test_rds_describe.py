"""describe-db-instances: RDS's Marker pagination (100 a page by default, MaxRecords 20
to 100, InvalidParameterValue otherwise, as RDS answers), and the query serializer's
fragment cache: reused while an instance is unchanged, never stale.

describe-db-instances hands each instance to the serializer with its store revision;
these tests drive RdsService against a real Store, serialize with the shared RDS
serializer and read the XML back with botocore's own parser, as a client would.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from botocore.parsers import create_parser as botocore_parser

from pgrealm.api.fragments import FragmentCache
from pgrealm.api.protocols import create_serializer
from pgrealm.api.protocols.query import QueryResponseSerializer
from pgrealm.api.protocols.xmlwriter import XmlWriter
from pgrealm.api.specs import load_service
from pgrealm.config import Settings
from pgrealm.sealing import Sealer
from pgrealm.services.base import Revisioned, Service
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.services.errors import CommonError
from pgrealm.services.rds.service import INSTANCE, RdsService
from pgrealm.store import Store

ACCOUNT, REGION = "111122223333", "us-east-1"
BLOCK = "198.19.240.0/20"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


@pytest.fixture
def rds(store: Store, tmp_path: Path) -> RdsService:
    settings = Settings(
        home=tmp_path,
        api_host="127.0.0.1",
        api_port=0,
        host_block=ipaddress.IPv4Network(BLOCK),
        hosts_file=tmp_path / "hosts",
        endpoint_domain="pgrealm.internal",
        pg_os_user="pgrealm",
    )
    registry: dict[str, Service] = {}
    registry["ec2"] = Ec2Service(store, registry, settings.host_block)
    service = RdsService(store, registry, settings, Sealer(tmp_path))
    registry["rds"] = service
    return service


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(account_id=ACCOUNT, region=REGION, request_id="r", service="rds")


def create(rds: RdsService, ctx: RequestContext, name: str, klass: str = "db.t3.micro") -> None:
    rds.create_db_instance(
        ctx,
        {
            "DBInstanceIdentifier": name,
            "DBInstanceClass": klass,
            "Engine": "postgres",
            "MasterUsername": "master",
            "MasterUserPassword": "Secret-password-1",
        },
    )


def serializer() -> QueryResponseSerializer:
    ours = create_serializer(load_service("rds"), "query")
    assert isinstance(ours, QueryResponseSerializer)
    return ours


def describe(rds: RdsService, ctx: RequestContext) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """The wire body of describe-db-instances and what botocore reads from it, by id."""
    operation = load_service("rds").operation_model("DescribeDBInstances")
    output = rds.describe_db_instances(ctx, {})
    body = serializer().serialize_response(operation, output, "r").body
    wire = {"body": body, "headers": {}, "status_code": 200}
    parsed = botocore_parser("query").parse(wire, operation.output_shape)
    return body, {i["DBInstanceIdentifier"]: i for i in parsed["DBInstances"]}


def set_status(store: Store, name: str, status: str) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["aws"]["DBInstanceStatus"] = status

    store.update(INSTANCE, ACCOUNT, REGION, name, change)


def test_unchanged_instances_come_from_the_cache(rds: RdsService, ctx: RequestContext) -> None:
    create(rds, ctx, "db-a")
    create(rds, ctx, "db-b")
    first, _ = describe(rds, ctx)
    hits = serializer().fragments.hits
    second, instances = describe(rds, ctx)
    assert serializer().fragments.hits == hits + 2
    assert second.replace(b"<RequestId>r</RequestId>", b"") == first.replace(
        b"<RequestId>r</RequestId>", b""
    )
    assert set(instances) == {"db-a", "db-b"}


def test_a_status_change_shows_at_once(rds: RdsService, store: Store, ctx: RequestContext) -> None:
    create(rds, ctx, "db-a")
    create(rds, ctx, "db-b")
    _, before = describe(rds, ctx)
    assert before["db-a"]["DBInstanceStatus"] == "creating"
    set_status(store, "db-a", "available")
    hits = serializer().fragments.hits
    _, after = describe(rds, ctx)
    assert after["db-a"]["DBInstanceStatus"] == "available"
    assert after["db-b"]["DBInstanceStatus"] == "creating"
    assert serializer().fragments.hits == hits + 1  # db-b only


def test_api_updates_and_their_own_answers_are_fresh(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    create(rds, ctx, "db-a")
    set_status(store, "db-a", "available")
    describe(rds, ctx)  # cache the "available" form
    answer = rds.reboot_db_instance(ctx, {"DBInstanceIdentifier": "db-a"})["DBInstance"]
    # an answer built from a doc changed in memory carries no revision: never cached
    assert not isinstance(answer, Revisioned)
    assert describe(rds, ctx)[1]["db-a"]["DBInstanceStatus"] == "rebooting"
    set_status(store, "db-a", "available")
    assert describe(rds, ctx)[1]["db-a"]["DBInstanceStatus"] == "available"
    rds.delete_db_instance(ctx, {"DBInstanceIdentifier": "db-a", "SkipFinalSnapshot": True})
    assert describe(rds, ctx)[1]["db-a"]["DBInstanceStatus"] == "deleting"


def test_deleted_and_recreated_instances(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    create(rds, ctx, "db-a")
    create(rds, ctx, "db-b")
    describe(rds, ctx)
    store.delete(INSTANCE, ACCOUNT, REGION, "db-a")
    assert set(describe(rds, ctx)[1]) == {"db-b"}
    create(rds, ctx, "db-a", klass="db.r6g.large")
    _, instances = describe(rds, ctx)
    assert instances["db-a"]["DBInstanceClass"] == "db.r6g.large"
    assert instances["db-a"]["DBInstanceStatus"] == "creating"


def test_revisions_follow_the_stored_text(store: Store) -> None:
    store.put("k", "a", "r", "1", {"x": 1})
    store.put("k", "a", "r", "2", {"x": 1})
    [(_, rev1), (_, rev2)] = store.list_revisions("k")
    assert rev1 == rev2  # the same content: the same wire form, so sharing is harmless
    store.update("k", "a", "r", "1", lambda d: d.update(x=2))
    [(doc, changed), (_, same)] = store.list_revisions("k")
    assert doc == {"x": 2} and changed != rev1 and same == rev2
    store.update("k", "a", "r", "1", lambda d: d.update(x=1))
    assert store.list_revisions("k")[0][1] == rev1


def test_fragment_cache_is_bounded_lru() -> None:
    cache = FragmentCache(max_entries=2)
    cache.put("a", "<a />")
    cache.put("b", "<b />")
    assert cache.get("a") == "<a />"  # "a" is now the most recent
    cache.put("c", "<c />")
    assert cache.get("b") is None and cache.get("a") == "<a />" and cache.get("c") == "<c />"
    assert len(cache) == 2


def test_xml_writer_matches_elementtree() -> None:
    root = ET.Element("R", {"xmlns": "urn:x", "a": 'q"<&>\r\n\t'})
    ET.SubElement(root, "Empty")
    ET.SubElement(root, "Blank").text = ""
    ET.SubElement(ET.SubElement(root, "L"), "m").text = "a&b <c> 'd' \"e\""
    ET.SubElement(root, "EmptyList")
    writer = XmlWriter()
    writer.open("R", {"xmlns": "urn:x", "a": 'q"<&>\r\n\t'})
    writer.open("Empty")
    writer.close()
    writer.leaf("Blank", "")
    mark = writer.mark()
    writer.open("L")
    writer.leaf("m", "a&b <c> 'd' \"e\"")
    writer.close()
    fragment = writer.since(mark)
    writer.open("EmptyList")
    writer.close()
    writer.close()
    assert writer.getvalue() == ET.tostring(root, encoding="unicode")
    assert fragment == "<L><m>a&amp;b &lt;c&gt; 'd' \"e\"</m></L>"


def test_xml_writer_refuses_unclosed_elements() -> None:
    writer = XmlWriter()
    writer.open("R")
    with pytest.raises(ValueError, match="unclosed"):
        writer.getvalue()


# -- pagination ---------------------------------------------------------------------------


def names(page: dict[str, object]) -> list[str]:
    return [i["DBInstanceIdentifier"] for i in page["DBInstances"]]  # type: ignore[attr-defined,index]


def test_pages_follow_the_marker_until_the_last(rds: RdsService, ctx: RequestContext) -> None:
    for i in range(45):
        create(rds, ctx, f"db-{i:02d}")
    seen: list[str] = []
    params: dict[str, object] = {"MaxRecords": 20}
    while True:
        page = rds.describe_db_instances(ctx, dict(params))
        seen += names(page)
        if "Marker" not in page:
            break
        params["Marker"] = page["Marker"]
    assert seen == [f"db-{i:02d}" for i in range(45)]
    assert len(names(rds.describe_db_instances(ctx, {}))) == 45  # one default page of 100


@pytest.mark.parametrize("size", [0, 19, 101])
def test_max_records_outside_20_to_100_is_refused(
    rds: RdsService, ctx: RequestContext, size: int
) -> None:
    with pytest.raises(CommonError) as err:
        rds.describe_db_instances(ctx, {"MaxRecords": size})
    assert err.value.code == "InvalidParameterValue"
    assert f"Invalid value {size} for MaxRecords" in err.value.message


def test_a_marker_that_is_not_ours_is_refused(rds: RdsService, ctx: RequestContext) -> None:
    with pytest.raises(CommonError) as err:
        rds.describe_db_instances(ctx, {"Marker": "not-a-marker"})
    assert err.value.code == "InvalidParameterValue"


def test_filters_select_instances_as_rds_does(rds: RdsService, ctx: RequestContext) -> None:
    for name in ("alpha", "beta"):
        create(rds, ctx, name)

    def listed(*filters: tuple[str, list[str]]) -> list[str]:
        spec = [{"Name": n, "Values": v} for n, v in filters]
        return names(rds.describe_db_instances(ctx, {"Filters": spec}))

    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:beta"
    assert listed(("db-instance-id", ["alpha", arn])) == ["alpha", "beta"]
    assert listed(("db-instance-id", [arn]), ("engine", ["postgres"])) == ["beta"]
    assert listed(("engine", ["mysql"])) == []
    assert listed(("domain", ["d-1234567890"])) == []
    with pytest.raises(CommonError) as err:
        listed(("colour", ["blue"]))
    assert err.value.code == "InvalidParameterValue"


def test_a_modify_that_names_no_domain_keeps_the_membership(
    rds: RdsService, ctx: RequestContext
) -> None:
    """Only --domain none or --disable-domain leaves a directory: a modify of anything
    else (groups, retention) must not read a missing Domain as "none"."""
    assert rds._membership_changes(ctx, {"BackupRetentionPeriod": 3}) == {}
    assert rds._membership_changes(ctx, {"Domain": "none"}) == {"leave": "pending"}
    assert rds._membership_changes(ctx, {"DisableDomain": True, "ApplyImmediately": True}) == {
        "leave": "now"
    }
