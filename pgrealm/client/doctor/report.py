"""The doctor's findings and how they are shown: to people (text) and to machines (JSON).

A :class:`Finding` carries the check's name, a severity, the evidence (each command
run and what it printed) and, when something is wrong, the cause and the fix in
plain words (STYLE section 8). The exit status is the worst severity found:
0 when everything passed (or was skipped for a reason that is not a fault),
1 for a warning, 2 for a failure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum

__all__ = ["Evidence", "Finding", "Report", "Severity"]


class Severity(str, Enum):
    PASS = "pass"
    SKIP = "skip"  # not checked: an earlier failure makes it moot, or no permission
    WARN = "warn"
    FAIL = "fail"

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "skip": 0, "warn": 1, "fail": 2}[self.value]


@dataclass(frozen=True)
class Evidence:
    command: str  # what was run or sent, as a person could repeat it
    output: str  # what came back (stdout and stderr, trimmed)
    returncode: int | None = None


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    summary: str  # one line: what was found
    evidence: tuple[Evidence, ...] = ()
    cause: str = ""  # why it is wrong, when it is
    fix: str = ""  # what to do about it


@dataclass
class Report:
    subject: str  # "alice@CORP.EXAMPLE.COM -> mydb (host:5432), directory d-... CORP..."
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((f.severity.exit_code for f in self.findings), default=0)

    @property
    def first_problem(self) -> Finding | None:
        bad = [f for f in self.findings if f.severity in (Severity.FAIL, Severity.WARN)]
        fails = [f for f in bad if f.severity is Severity.FAIL]
        return (fails or bad)[0] if bad else None

    def to_json(self) -> str:
        first = self.first_problem
        doc = {
            "subject": self.subject,
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "first_problem": first.check if first else None,
            "findings": [
                {
                    **asdict(f),
                    "severity": f.severity.value,
                    "evidence": [asdict(e) for e in f.evidence],
                }
                for f in self.findings
            ],
        }
        return json.dumps(doc, indent=2)

    def to_text(self, verbose: bool = False) -> str:
        width = max((len(f.check) for f in self.findings), default=8)
        lines = [f"pgrealm doctor: {self.subject}", ""]
        for f in self.findings:
            mark = f.severity.value.upper() if f.severity is not Severity.PASS else "pass"
            lines.append(f"[{mark:>4}] {f.check:<{width}}  {f.summary}")
            bad = f.severity in (Severity.FAIL, Severity.WARN)
            if f.cause and (bad or verbose):
                lines.append(_indent("cause: " + f.cause, width))
            if f.fix and (bad or verbose):
                lines.append(_indent("fix:   " + f.fix, width))
            if f.evidence and (bad or verbose):
                lines.append(_indent("evidence:", width))
                for e in f.evidence:
                    lines.append(_indent("  $ " + e.command, width))
                    lines.extend(_indent("    " + out, width) for out in _trim(e.output))
        lines.append("")
        first = self.first_problem
        if first is None:
            lines.append("All checks passed.")
        else:
            count = sum(f.severity in (Severity.FAIL, Severity.WARN) for f in self.findings)
            lines.append(f"{count} problem(s); start with the first: {first.check}.")
        return "\n".join(lines)


def _indent(text: str, width: int) -> str:
    pad = " " * (width + 10)
    return "\n".join(pad + line for line in text.splitlines())


def _trim(output: str, limit: int = 12) -> list[str]:
    lines = output.strip().splitlines()
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return lines or ["(no output)"]
