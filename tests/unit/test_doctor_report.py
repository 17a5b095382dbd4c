"""The doctor's report: exit code from the worst severity, the first problem, JSON and text."""

from __future__ import annotations

import json

from pgrealm.client.doctor import Evidence, Finding, Report, Severity


def report(*severities: Severity) -> Report:
    r = Report("alice@R -> db")
    for i, s in enumerate(severities):
        r.findings.append(
            Finding(f"c{i}", s, f"summary {i}", (Evidence("klist", "out", 1),), "because", "do")
        )
    return r


def test_exit_code_is_the_worst_severity() -> None:
    assert report(Severity.PASS, Severity.SKIP).exit_code == 0
    assert report(Severity.PASS, Severity.WARN).exit_code == 1
    assert report(Severity.WARN, Severity.FAIL, Severity.PASS).exit_code == 2


def test_first_problem_prefers_a_failure() -> None:
    assert report(Severity.WARN, Severity.FAIL).first_problem.check == "c1"  # type: ignore[union-attr]
    assert report(Severity.PASS, Severity.WARN).first_problem.check == "c1"  # type: ignore[union-attr]
    assert report(Severity.PASS).first_problem is None


def test_json_carries_evidence_cause_and_fix() -> None:
    doc = json.loads(report(Severity.FAIL).to_json())
    assert doc["ok"] is False and doc["first_problem"] == "c0"
    finding = doc["findings"][0]
    assert finding["severity"] == "fail" and finding["fix"] == "do"
    assert finding["evidence"] == [{"command": "klist", "output": "out", "returncode": 1}]


def test_text_shows_cause_and_fix_only_for_problems() -> None:
    text = report(Severity.PASS, Severity.FAIL).to_text()
    assert "[FAIL] c1" in text and "[pass] c0" in text
    assert text.count("cause: because") == 1 and "start with the first: c1" in text
    assert "All checks passed." in report(Severity.PASS).to_text()
