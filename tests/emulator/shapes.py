"""Checks a raw JSON answer against botocore's output shape for its operation.

boto3's parser silently drops members the model does not know and accepts
missing required ones, so the conformance suite looks at the bytes on the wire.
"""

from __future__ import annotations

import json
import re
from typing import Any


def problems(shape: Any, value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    kind = shape.type_name
    meta = shape.metadata
    where = path or "<root>"
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        for required in shape.required_members:
            if required not in value:
                found.append(f"{where}: required member {required} missing")
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                found.append(f"{where}: member {key} is not in the {shape.name} shape")
            else:
                found += problems(member, item, f"{path}.{key}" if path else key)
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        for index, item in enumerate(value):
            found += problems(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map"]
        for key, item in value.items():
            found += problems(shape.value, item, f"{path}[{key}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if "enum" in meta and value not in meta["enum"]:
            found.append(f"{where}: {value!r} is not one of the enum values")
        if len(value) > meta.get("max", 1 << 30) or len(value) < meta.get("min", 0):
            found.append(
                f"{where}: length {len(value)} outside [{meta.get('min')}, {meta.get('max')}]"
            )
        if "pattern" in meta:
            try:
                compiled = re.compile(meta["pattern"])
            except re.error:
                compiled = None
            if compiled is not None and not compiled.fullmatch(value):
                found.append(f"{where}: {value!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            found.append(f"{where}: expected an integer")
        elif value < meta.get("min", -(1 << 62)) or value > meta.get("max", 1 << 62):
            found.append(f"{where}: {value} outside [{meta.get('min')}, {meta.get('max')}]")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            found.append(f"{where}: expected a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append(f"{where}: expected a boolean")
    elif kind == "timestamp" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        found.append(f"{where}: expected epoch seconds")
    return found


class WireRecorder:
    """Registered on a boto3 client: keeps every successful raw answer and its shape problems."""

    def __init__(self, client: Any) -> None:
        self.answers: list[tuple[str, Any]] = []
        self.problems: list[str] = []
        client.meta.events.register("before-parse", self._on_response)

    def _on_response(self, operation_model: Any, response_dict: Any, **_: Any) -> None:
        if response_dict["status_code"] != 200 or operation_model.output_shape is None:
            return
        if operation_model.metadata.get("protocol") != "json":
            return
        body = response_dict["body"]
        raw = json.loads(body) if body else {}
        self.answers.append((operation_model.name, raw))
        for problem in problems(operation_model.output_shape, raw):
            self.problems.append(f"{operation_model.name}: {problem}")

    def last(self, operation: str) -> Any:
        return next(raw for name, raw in reversed(self.answers) if name == operation)
