"""Input validation against the model, in one place, worded the way AWS words it.

botocore's ``ParamValidator`` checks types, ``required``, ``min`` and unions; it does not
check ``max``, ``enum`` or ``pattern``, so :func:`validate` adds those here. Every
problem becomes one clause of AWS's message::

    2 validation errors detected: Value null at 'name' failed to satisfy constraint:
    Member must not be null; Value 'x' at 'size' failed to satisfy constraint: ...

The error code is the service's own: a modeled ``ValidationException`` or
``InvalidParameterException`` for JSON services, ``ValidationError`` for query services
(IAM, STS), ``InvalidParameterValue`` for EC2 and RDS (``MissingParameter`` when the
only problem is absent members), or ``metadata.pgrealmValidationErrorCode`` from
``specs/patches.json``. Patterns follow Smithy: a search, not a full match.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

from pgrealm.services.errors import CommonError

__all__ = ["validate"]

log = logging.getLogger(__name__)

_JSON_FAMILY = ("json", "rest-json", "smithy-rpc-v2-cbor")
_MODELED_CODES = ("ValidationException", "InvalidParameterException")
_NUMBERS = ("integer", "long", "float", "double")
# Models hold Java regexes. Python's re lacks \p{..}; these stand-ins are a little
# looser (\w also admits "_", \s also tabs) and only ever used inside [..] or alone.
_JAVA_CLASSES = {
    r"\p{LD}": r"\w",
    r"\p{L}": r"\w",
    r"\p{N}": r"\w",
    r"\p{Z}": r"\s",
    r"\p{Punct}": r"[!-/:-@\[-`{-~]",
}
_MISSING = object()


@dataclass(frozen=True)
class _Problem:
    name: str  # botocore's form: ".VpcSettings.SubnetIds[0]"
    value: Any
    constraint: str
    sensitive: bool = False


def validate(operation_model: OperationModel, params: dict[str, Any]) -> None:
    """Raise :class:`CommonError` naming every way ``params`` break the input shape."""
    shape = operation_model.input_shape
    if shape is None:
        return
    report = ParamValidator().validate(params, shape)
    # ValidationErrors only offers prose; its entries are the structured form we need.
    problems = [
        _from_botocore(*entry)
        for entry in report._errors
        # botocore reports a length without the value; _check words min and max itself.
        if entry[0] not in ("invalid length", "invalid range")
    ]
    _check(shape, params, "", problems)
    if problems:
        raise _error(operation_model.service_model, problems)


def _from_botocore(reason: str, name: str, extra: dict[str, Any]) -> _Problem:
    if reason == "missing required field":
        return _Problem(f"{name}.{extra['required_name']}", None, "Member must not be null")
    value = extra.get("param", _MISSING)
    if reason == "invalid type":
        return _Problem(name, value, "Member must be of a valid type")
    if reason == "unknown field":
        return _Problem(f"{name}.{extra['unknown_param']}", _MISSING, "Member is not a known field")
    if reason in ("more than one input", "empty input"):
        return _Problem(name, _MISSING, "Member must have exactly one member set")
    return _Problem(name, value, reason)


def _check(shape: Shape, value: Any, name: str, out: list[_Problem]) -> None:
    """Bounds (botocore words them without the value), enum and pattern."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict) and not shape.is_document_type:
        for key, item in value.items():
            if key in shape.members and item is not None:
                _check(shape.members[key], item, f"{name}.{key}", out)
    elif kind == "list" and isinstance(value, (list, tuple)):
        _check_bounds(shape, value, len(value), "length", name, out)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{name}[{index}]", out)
    elif kind == "map" and isinstance(value, dict):
        _check_bounds(shape, value, len(value), "length", name, out)
        for key, item in value.items():
            _check(shape.key, key, f"{name} (key: {key})", out)
            _check(shape.value, item, f"{name}.{key}", out)
    elif kind == "string" and isinstance(value, str):
        _check_string(shape, value, name, out)
    elif kind in _NUMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_bounds(shape, value, value, "value", name, out)


def _check_bounds(
    shape: Shape, value: Any, size: Any, what: str, name: str, out: list[_Problem]
) -> None:
    sensitive = bool(shape.metadata.get("sensitive"))
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        constraint = f"Member must have {what} greater than or equal to {low}"
        out.append(_Problem(name, value, constraint, sensitive))
    if high is not None and size > high:
        constraint = f"Member must have {what} less than or equal to {high}"
        out.append(_Problem(name, value, constraint, sensitive))


def _check_string(shape: Shape, value: str, name: str, out: list[_Problem]) -> None:
    sensitive = bool(shape.metadata.get("sensitive"))
    _check_bounds(shape, value, len(value), "length", name, out)
    if shape.enum and value not in shape.enum:
        constraint = f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
        out.append(_Problem(name, value, constraint, sensitive))
    pattern = shape.metadata.get("pattern")
    compiled = _compile(pattern) if pattern else None
    if compiled is not None and compiled.search(value) is None:
        constraint = f"Member must satisfy regular expression pattern: {pattern}"
        out.append(_Problem(name, value, constraint, sensitive))


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str] | None:
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern)
    except re.error:
        log.debug("skipping pattern Python cannot compile: %s", pattern)
        return None


def _error(service_model: ServiceModel, problems: list[_Problem]) -> CommonError:
    code = _code_for(service_model)
    if code == "InvalidParameterValue" and all(p.value is None for p in problems):
        names = ", ".join(_wire_name(p.name) for p in problems)
        return CommonError("MissingParameter", f"The request must contain the parameter {names}")
    count = len(problems)
    head = f"{count} validation error{'s' if count > 1 else ''} detected: "
    return CommonError(code, head + "; ".join(_clause(p) for p in problems))


def _code_for(service_model: ServiceModel) -> str:
    metadata = service_model.metadata
    if metadata.get("pgrealmValidationErrorCode"):
        return str(metadata["pgrealmValidationErrorCode"])
    protocol = metadata.get("protocol")
    if protocol in _JSON_FAMILY:
        declared = {shape.name: shape for shape in service_model.error_shapes}
        for name in _MODELED_CODES:
            if name in declared:
                return str(declared[name].error_code or name)
        return "ValidationException"
    return "InvalidParameterValue" if protocol == "ec2" else "ValidationError"


def _clause(problem: _Problem) -> str:
    where = f"at '{_aws_path(problem.name)}' failed to satisfy constraint: {problem.constraint}"
    if problem.value is _MISSING or problem.sensitive:
        return f"Value {where}"
    return f"Value {_render(problem.value)} {where}"


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "'[" + ", ".join(str(v) for v in value) + "]'"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    return f"'{value}'"


def _wire_name(name: str) -> str:
    return name.lstrip(".")


def _aws_path(name: str) -> str:
    """botocore's ``.Settings.SubnetIds[0]`` as AWS writes it: ``settings.subnetIds.1.member``."""
    name = re.sub(r" \(key: [^)]*\)$", ".key", name.lstrip("."))
    parts: list[str] = []
    for segment in name.split("."):
        base, _, rest = segment.partition("[")
        parts.append(base[:1].lower() + base[1:])
        for index in re.findall(r"(\d+)\]", "[" + rest if rest else ""):
            parts += [str(int(index) + 1), "member"]
    return ".".join(p for p in parts if p)
