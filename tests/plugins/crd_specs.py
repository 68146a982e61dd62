"""Hypothesis strategies for LLMEndpoint specs the CRD's own OpenAPI schema accepts.

Built from crds/llmendpoints.yaml as the API server reads it: types, enums, patterns,
lengths, bounds, required and optional properties, maps and lists (sizes kept small).
The CEL rules (x-kubernetes-validations) are left out on purpose: what they refuse
the operator's own validation refuses too, with a message, and that is tested here
as well. A few fields also draw from values the operator knows (regions, instance
types, a role), so that most specs get past validation into rendering, observing and
planning rather than stopping at an unknown region.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import yaml
from hypothesis import strategies as st

from llm_operator.api import catalog
from tests.plugins.cluster_fixtures import CRD_FILE

MAX_ITEMS = 3  # list and map sizes: the rules are about shape, not about counts
# Types with GPUs or Inferentia chips, as LLMs run on.
INSTANCE_TYPES = st.sampled_from(sorted(t.name for t in catalog.instance_types() if t.accelerators))
REGIONS = st.sampled_from(["us-east-1", "us-west-2", "eu-central-1"])
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
PLAUSIBLE: Mapping[str, st.SearchStrategy[Any]] = {
    "spec.aws": st.fixed_dictionaries({"region": REGIONS, "executionRoleArn": st.just(ROLE)}),
    "spec.aws.region": REGIONS,
    "spec.aws.executionRoleArn": st.just(ROLE),
    "spec.instance.type": INSTANCE_TYPES,
    "spec.resources": st.fixed_dictionaries(
        {},
        optional={
            "copies": st.integers(1, 2),
            "acceleratorsPerCopy": st.just(1),
            "cpusPerCopy": st.integers(1, 2),
            "memoryMiBPerCopy": st.integers(1024, 8192),
        },
    ),
    "spec.autoscaling": st.fixed_dictionaries(
        {"maxReplicas": st.integers(1, 4), "target": st.integers(1, 10)},
        optional={"minReplicas": st.integers(0, 1)},
    ),
    "spec.rollout": st.fixed_dictionaries(
        {},
        optional={
            "strategy": st.just("Rolling"),
            "autoRollback": st.fixed_dictionaries(
                {"maxErrorRatePercent": st.integers(1, 10)},
                optional={"maxP99LatencyMs": st.integers(100, 5000)},
            ),
        },
    ),
    "spec.instance": st.fixed_dictionaries(
        {"type": INSTANCE_TYPES}, optional={"count": st.integers(1, 2)}
    ),
    "spec.model": st.fixed_dictionaries(
        {"hfModelId": st.sampled_from(["mistralai/Mistral-7B-Instruct-v0.1", "Qwen/Qwen2-0.5B"])},
        optional={
            "engine": st.sampled_from(["vllm", "sglang", "lmi", "tgi"]),
            "maxModelLength": st.integers(512, 8192),
        },
    ),
}


# Patterns of the schema whose strings often exceed their maxLength, each a subset of
# the same language with bounded repetitions.
BOUNDED: Mapping[str, str] = {
    r"^[a-z0-9]+(-[a-z0-9]+)*$": r"^[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}$",
    r"^[0-9]+(\.[0-9]+){0,2}$": r"^[0-9]{1,3}(\.[0-9]{1,3}){0,2}$",
}


def spec_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return dict(version["schema"]["openAPIV3Schema"]["properties"]["spec"])


def specs() -> st.SearchStrategy[dict[str, Any]]:
    """Specs the CRD's schema accepts."""
    return from_schema(spec_schema(), "spec")


def from_schema(schema: Mapping[str, Any], path: str) -> st.SearchStrategy[Any]:
    """Values `schema` (an OpenAPI v3 schema of a structural CRD) accepts."""
    found = _strategy(schema, path)
    plausible = PLAUSIBLE.get(path)
    return found if plausible is None else st.one_of(plausible, found)


def _strategy(schema: Mapping[str, Any], path: str) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if schema.get("x-kubernetes-int-or-string"):
        # No type of its own (Kubernetes' rule): an integer or a string, as the API
        # server accepts either; the CEL rules on it are left to the API server.
        return st.one_of(st.integers(min_value=-2, max_value=1000), st.text(max_size=40))
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, path)
    if kind == "array":
        items = from_schema(schema["items"], f"{path}[]")
        size = min(int(schema.get("maxItems", MAX_ITEMS)), MAX_ITEMS)
        keys = schema.get("x-kubernetes-list-map-keys") or []
        return st.lists(
            items,
            min_size=int(schema.get("minItems", 0)),
            max_size=max(size, int(schema.get("minItems", 0))),
            unique_by=(lambda item: tuple(item.get(k) for k in keys)) if keys else None,
        )
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        low, high = _bounds(schema)
        above, below = bool(schema.get("exclusiveMinimum")), bool(schema.get("exclusiveMaximum"))
        whole = st.integers(
            min_value=None if low is None else math.floor(low) + 1 if above else math.ceil(low),
            max_value=None if high is None else math.ceil(high) - 1 if below else math.floor(high),
        )
        if kind == "integer":
            return whole
        real = st.floats(
            min_value=low,
            max_value=high,
            exclude_min=above and low is not None,
            exclude_max=below and high is not None,
            allow_nan=False,
            allow_infinity=False,
        )
        return st.one_of(whole, real)
    if kind == "boolean":
        return st.booleans()
    raise ValueError(f"{path}: no strategy for schema type {kind!r}")


def _object(schema: Mapping[str, Any], path: str) -> st.SearchStrategy[dict[str, Any]]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if properties:
        required = set(schema.get("required") or [])
        return st.fixed_dictionaries(
            {k: from_schema(v, f"{path}.{k}") for k, v in properties.items() if k in required},
            optional={
                k: from_schema(v, f"{path}.{k}") for k, v in properties.items() if k not in required
            },
        )
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping):
        size = min(int(schema.get("maxProperties", MAX_ITEMS)), MAX_ITEMS)
        keys = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1)
        return st.dictionaries(keys, from_schema(values, f"{path}{{}}"), max_size=size)
    return st.just({})


def _string(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    pattern = schema.get("pattern")
    if pattern is None:
        return st.text(min_size=low, max_size=min(int(high), 40) if high is not None else 40)
    # The same language with its repetitions bounded, so that few strings are too long.
    pattern = BOUNDED.get(pattern, pattern)
    return st.from_regex(pattern, fullmatch=True).filter(
        lambda s: low <= len(s) and (high is None or len(s) <= int(high))
    )


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low, high = schema.get("minimum"), schema.get("maximum")
    return (None if low is None else float(low)), (None if high is None else float(high))
