"""No request, however odd, gets a 500 or a traceback: generated inputs for every operation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.operations import OPERATIONS
from tests.emulator import builders

CANDIDATES = (
    "x",
    "ml.g5.12xlarge",
    builders.ROLE,
    "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x",
    "s3://bucket/key",
    "https://example.com/a",
    builders.IMAGE,
)


def _string(shape: Any) -> str:
    meta = shape.metadata
    if "enum" in meta:
        value: str = meta["enum"][0]
        return value
    for candidate in CANDIDATES:
        if not meta.get("min", 0) <= len(candidate) <= meta.get("max", 1 << 20):
            continue
        pattern = meta.get("pattern")
        try:
            if pattern is None or re.fullmatch(pattern, candidate):
                return candidate
        except re.error:
            return candidate
    return "x" * max(1, meta.get("min", 1))


def sample(shape: Any, full: bool, depth: int = 0) -> Any:
    """A value that satisfies the model: required members only, or (full) every member."""
    kind = shape.type_name
    if kind == "structure":
        names = shape.members if full and depth < 4 else shape.required_members
        return {name: sample(shape.members[name], full, depth + 1) for name in names}
    if kind == "list":
        return [sample(shape.member, full, depth + 1)] * max(1, shape.metadata.get("min", 1))
    if kind == "map":
        return {"KEY": "value"}
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        return int(max(shape.metadata.get("min", 1), 1))
    if kind in ("float", "double"):
        return float(max(shape.metadata.get("min", 1), 1))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1700000000
    return None


@pytest.mark.parametrize("full", [False, True], ids=["required-members", "every-member"])
def test_every_operation_answers_without_crashing(
    sm: Any, emulator_admin: AdminClient, full: bool
) -> None:
    # Some resources to run into, so generated names sometimes hit real ones.
    builders.model(sm, "x")
    builders.component_config(sm, "cfg")
    sm.create_endpoint(EndpointName="x", EndpointConfigName="cfg")
    emulator_admin.settle()
    codes: dict[str, str] = {}
    for operation in OPERATIONS:
        model = sm.meta.service_model.operation_model(operation)
        params = sample(model.input_shape, full) if model.input_shape else {}
        method = getattr(sm, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        try:
            method(**params)
            codes[operation] = "ok"
        except ClientError as failed:
            assert failed.response["ResponseMetadata"]["HTTPStatusCode"] == 400, operation
            codes[operation] = failed.response["Error"]["Code"]
        emulator_admin.settle()
    assert emulator_admin.emulator_errors() == 0
    assert set(codes.values()) <= {"ok", "ValidationException", "ResourceLimitExceeded"}
    assert codes["DescribeModel"] == "ok"  # the generated name "x" is the model made above
