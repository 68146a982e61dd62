"""Request validation against botocore's own SageMaker service model.

SageMaker checks every constraint of its model on the server and reports them
together; botocore's client skips lengths and patterns, so these checks are what
a user with a bad name or an oversize environment actually sees.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from functools import cache
from typing import Any

from .catalog import service_model
from .errors import AwsError

_UNICODE_CLASS = re.compile(r"\\p\{([LMNPSZ]|Alnum)\}")


@cache
def _unicode_classes() -> dict[str, str]:
    """Character-class bodies for Java's \\p{L}, \\p{M}, \\p{N}, \\p{P}, \\p{S}, \\p{Z}, \\p{Alnum}.

    Built once from the Unicode database Python ships, so a tag value in any script is
    accepted and an emoji (a symbol, So) is refused where only \\p{L}\\p{Z}\\p{N} are allowed.
    """
    ranges: dict[str, list[tuple[int, int]]] = {major: [] for major in "LMNPSZ"}
    for code in range(sys.maxunicode + 1):
        major = unicodedata.category(chr(code))[0]
        found = ranges.get(major)
        if found is None:
            continue
        if found and found[-1][1] == code - 1:
            found[-1] = (found[-1][0], code)
        else:
            found.append((code, code))
    classes = {
        major: "".join(
            re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
            for low, high in spans
        )
        for major, spans in ranges.items()
    }
    classes["Alnum"] = "a-zA-Z0-9"  # POSIX class: ASCII only in Java
    return classes


@cache
def _pattern(source: str) -> re.Pattern[str] | None:
    """Java patterns from the model, with the \\p{..} classes spelled out for Python.

    The model uses \\p{..} only inside [...] classes, where a spelled-out body fits.
    """
    translated = source
    if _UNICODE_CLASS.search(source):
        classes = _unicode_classes()
        translated = _UNICODE_CLASS.sub(lambda match: classes[match.group(1)], source)
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
    if isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
        return "{" + ", ".join(f"{key}={item}" for key, item in value.items()) + "}"  # Java's
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
            if shape.key.type_name == "string" and shape.value.type_name == "string":
                self._string_map(shape, value, path)
                return
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

    def _string_map(self, shape: Any, value: dict[Any, Any], path: str) -> None:
        """SageMaker reports a string map as a whole, once for its keys and once for its values:
        `Value '{K=V}' at 'primaryContainer.environment' failed to satisfy constraint: Map value
        must satisfy constraint: [Member must have length less than or equal to 1024, ...]`.
        """
        for label, member, items in (
            ("Map keys", shape.key, list(value)),
            ("Map value", shape.value, list(value.values())),
        ):
            if any(not isinstance(item, str) for item in items):
                self.type_error = f"Expected strings in the map at '{path}'"
                return
            inner = _Checker()
            for item in items:
                inner.check(member, item, path)
            if inner.constraints:
                self.fail(
                    value,
                    path,
                    f"{label} must satisfy constraint: [{', '.join(_constraints(member))}]",
                )

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


def _constraints(shape: Any) -> list[str]:
    """Every constraint of a string shape, in the order SageMaker lists them."""
    meta = shape.metadata
    if "enum" in meta:
        return [f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"]
    out = []
    if "max" in meta:
        out.append(f"Member must have length less than or equal to {meta['max']}")
    if "min" in meta:
        out.append(f"Member must have length greater than or equal to {meta['min']}")
    if "pattern" in meta:
        out.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    return out


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
