"""A short ``make chaos``: one fault of each kind under the Kerberos write load, then a
short load (API clients racing for names, a login storm with a DC stopped), on a stack of
its own. Nothing committed is lost, nothing is stuck or orphaned, no 5xx, no secret, no
race with two winners, no login failed while both DCs answered."""

from __future__ import annotations

import os

import pytest

from bench.chaos import FAULTS, LoadPlan, run
from tests.fixtures.addresses import spare_block

pytestmark = pytest.mark.acceptance


@pytest.mark.skipif(os.geteuid() != 0, reason="the stack needs root")
def test_one_fault_of_each_kind_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    plan = LoadPlan(clients=8, seconds=20, storm_rate=30, storm_seconds=12, outage=4, bad_input=1)
    tally, orphans, leftovers = run(
        seed=7, faults=len(FAULTS), budget=600, block=spare_block(), plan=plan
    )
    assert tally.injected == list(FAULTS)
    assert len(tally.recovered) == len(FAULTS), tally.failed
    assert not tally.failed, tally.failed  # lost rows and stuck resources
    assert tally.committed, "the writer never got a row in"
    assert not orphans and not leftovers, orphans + leftovers
    assert not tally.api_5xx and not tally.secrets_seen
    assert tally.load is not None and tally.load.races and tally.load.calls > 100
    assert tally.storm is not None and len(tally.storm.logins) > 100
    assert not plan.problems(tally), plan.problems(tally)
