"""Request validation against botocore's own SageMaker service model.

SageMaker checks every constraint of its model on the server and reports them
together; botocore's client skips lengths and patterns, so these checks are what
a user with a bad name or an oversize environment actually sees.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import botocore.session

from .errors import AwsError

_UNICODE_CLASSES = {
    r"\p{L}": "a-zA-Z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u4e00-\u9fff",
    r"\p{Z}": " \u00a0\u2000-\u200a\u2028\u2029\u3000",
    r"\p{N}": "0-9",
}


@cache
def service_model(service: str = "sagemaker") -> Any:
    return botocore.session.get_session().get_service_model(service)


@cache
def _pattern(source: str) -> re.Pattern[str] | None:
    """Java patterns from the model; \\p{..} classes are approximated, others kept as is."""
    translated = source
    for java, python in _UNICODE_CLASSES.items():
        translated = translated.replace(java, python)
    try:
        return re.compile(translated, re.DOTALL)
    except re.error:
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


class _Checker:
    def __init__(self) -> None:
        self.constraints: list[str] = []
        self.type_error: str | None = None

    def fail(self, value: Any, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{_show(value)}'"
        self.constraints.append(
            f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        )

    def check(self, shape: Any, value: Any, path: str) -> None:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "structure":
            if not isinstance(value, dict):
                self.type_error = f"Expected a structure at '{path or 'request'}'"
                return
            for required in shape.required_members:
                if value.get(required) is None:
                    self.fail(None, _join(path, required), "Member must not be null")
            for key, member_value in value.items():
                member = shape.members.get(key)
                if member is None:
                    continue  # AWS ignores members it does not know
                if member_value is not None:
                    self.check(member, member_value, _join(path, key))
        elif kind == "list":
            if not isinstance(value, list):
                self.type_error = f"Expected a list at '{path}'"
                return
            self._size(value, len(value), meta, path)
            for index, item in enumerate(value, start=1):
                self.check(shape.member, item, f"{path}.{index}.member")
        elif kind == "map":
            if not isinstance(value, dict):
                self.type_error = f"Expected a map at '{path}'"
                return
            self._size(value, len(value), meta, path)
            for key, item in value.items():
                self.check(shape.key, key, f"{path}.key")
                self.check(shape.value, item, f"{path}.{key}.member")
        elif kind == "string":
            if not isinstance(value, str):
                self.type_error = f"Expected a string at '{path}'"
                return
            if "enum" in meta and value not in meta["enum"]:
                self.fail(
                    value, path, f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"
                )
                return
            self._size(value, len(value), meta, path)
            pattern = meta.get("pattern")
            if pattern is not None:
                compiled = _pattern(pattern)
                if compiled is not None and not compiled.fullmatch(value):
                    self.fail(
                        value, path, f"Member must satisfy regular expression pattern: {pattern}"
                    )
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                self.type_error = f"Expected an integer at '{path}'"
                return
            self._range(value, meta, path)
        elif kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.type_error = f"Expected a number at '{path}'"
                return
            self._range(value, meta, path)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.type_error = f"Expected a boolean at '{path}'"
        elif kind == "timestamp" and (
            isinstance(value, bool) or not isinstance(value, (int, float, str))
        ):
            self.type_error = f"Expected a timestamp at '{path}'"

    def _size(self, value: Any, size: int, meta: dict[str, Any], path: str) -> None:
        if "min" in meta and size < meta["min"]:
            self.fail(
                value, path, f"Member must have length greater than or equal to {meta['min']}"
            )
        if "max" in meta and size > meta["max"]:
            self.fail(value, path, f"Member must have length less than or equal to {meta['max']}")

    def _range(self, value: float, meta: dict[str, Any], path: str) -> None:
        if "min" in meta and value < meta["min"]:
            self.fail(value, path, f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            self.fail(value, path, f"Member must have value less than or equal to {meta['max']}")


def _join(path: str, member: str) -> str:
    return f"{path}.{_camel(member)}" if path else _camel(member)


def validate(operation: str, params: Any, service: str = "sagemaker") -> None:
    """Raise the AwsError SageMaker would answer for `params`, or return if they are valid."""
    shape = service_model(service).operation_model(operation).input_shape
    if shape is None:
        return
    checker = _Checker()
    checker.check(shape, params, "")
    if checker.type_error is not None:
        raise AwsError("SerializationException", checker.type_error)
    if checker.constraints:
        count = len(checker.constraints)
        noun = "error" if count == 1 else "errors"
        raise AwsError(
            "ValidationException",
            f"{count} validation {noun} detected: " + "; ".join(checker.constraints),
        )
