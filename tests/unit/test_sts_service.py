"""StsService: the caller is the account's root."""

from __future__ import annotations

from pathlib import Path

from pgrealm.services.context import RequestContext
from pgrealm.services.sts import StsService
from pgrealm.store import Store


def test_get_caller_identity(tmp_path: Path) -> None:
    sts = StsService(Store(tmp_path / "state.db"), {})
    ctx = RequestContext(account_id="123456789012", region="us-east-1", request_id="r")
    assert sts.get_caller_identity(ctx, {}) == {
        "UserId": "123456789012",
        "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:root",
    }
