"""Every error shape a service raises is one its service model declares.

Services name error shapes as strings (``ServiceError("DBInstanceNotFoundFault", ...)``);
a misspelt one would go out with a made-up code no SDK knows. The server reads the
services' source once at start (about 50 files, a few tens of milliseconds) and refuses
to start on a shape its model lacks; a unit test runs the same check.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from pgrealm.api.specs import load_service

__all__ = ["raised_shapes", "unknown_error_shapes"]

_SERVICES = Path(__file__).resolve().parents[1] / "services"
# The services' packages, by the botocore name of the service they serve.
_PACKAGES = {
    "ds": "ds",
    "ds_data": "ds-data",
    "ec2": "ec2",
    "iam": "iam",
    "logs": "logs",
    "rds": "rds",
    "sts": "sts",
}


def raised_shapes(source: str) -> set[str]:
    """The shape names given as a literal to ``ServiceError(...)`` in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ServiceError"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


@cache
def unknown_error_shapes() -> tuple[str, ...]:
    """``service: Shape (file)`` for every raised shape its service's model lacks."""
    problems = []
    for package, service in _PACKAGES.items():
        model = load_service(service)
        known = {shape.name for shape in model.error_shapes}
        for path in sorted((_SERVICES / package).glob("*.py")):
            for shape in sorted(raised_shapes(path.read_text()) - known):
                problems.append(f"{service}: {shape} ({path.relative_to(_SERVICES.parent)})")
    return tuple(problems)
