"""Search: endpoints and models with their tags, filtered, sorted and paged as SageMaker
does it (a client reads a whole region's resources and their tags 100 to a page).

Resource types this emulator does not hold answer with no results. A filter's Name is
a member of the resource as Describe shows it (`EndpointName`, `EndpointStatus`, ...)
or `Tags.<key>`; SearchExpression's Operator (And, the default, or Or) joins its
Filters and SubExpressions. NestedFilters are refused (not emulated).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..errors import validation
from ..state import Record, public
from . import endpoints
from .common import Context, _decode_token, _encode_token

DEFAULT_MAX_RESULTS = 10
# Members of a Search result that Describe shows and Search does not.
_ENDPOINT_MEMBERS = (
    "EndpointName",
    "EndpointArn",
    "EndpointConfigName",
    "ProductionVariants",
    "DataCaptureConfig",
    "EndpointStatus",
    "FailureReason",
    "CreationTime",
    "LastModifiedTime",
    "ShadowProductionVariants",
)
_MODEL_MEMBERS = (
    "ModelName",
    "PrimaryContainer",
    "Containers",
    "InferenceExecutionConfig",
    "ExecutionRoleArn",
    "VpcConfig",
    "CreationTime",
    "ModelArn",
    "EnableNetworkIsolation",
)


def search(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = params["Resource"]
    found: list[tuple[Record, dict[str, Any]]] = []  # (what filters see, the result)
    if resource == "Endpoint":
        for record in ctx.region.endpoints.values():
            shown = endpoints.render(record)
            item = {k: shown[k] for k in _ENDPOINT_MEMBERS if k in shown}
            tags = _tags(ctx, record["EndpointArn"])
            found.append(({**item, "Tags": tags}, {"Endpoint": {**item, "Tags": _list(tags)}}))
    elif resource == "Model":
        for record in ctx.region.models.values():
            shown = public(record)
            item = {k: shown[k] for k in _MODEL_MEMBERS if k in shown}
            tags = _tags(ctx, record["ModelArn"])
            model = {**item, "Tags": _list(tags)}
            found.append(({**item, "Tags": tags}, {"Model": {"Model": model}}))
    expression = params.get("SearchExpression")
    if expression is not None:
        test = _expression(expression)
        found = [pair for pair in found if test(pair[0])]
    sort_by = params.get("SortBy", "LastModifiedTime")
    found.sort(
        key=lambda pair: _sort_key(_value(pair[0], sort_by) or _value(pair[0], "CreationTime")),
        reverse=params.get("SortOrder", "Descending") == "Descending",
    )
    start = _decode_token(params["NextToken"]) if params.get("NextToken") else 0
    size = int(params.get("MaxResults") or DEFAULT_MAX_RESULTS)
    out: dict[str, Any] = {
        "Results": [result for _, result in found[start : start + size]],
        "TotalHits": {"Value": len(found), "Relation": "EqualTo"},
    }
    if start + size < len(found):
        out["NextToken"] = _encode_token(start + size)
    return out


Test = Callable[[Record], bool]


def _expression(expression: dict[str, Any]) -> Test:
    if expression.get("NestedFilters"):
        raise validation("NestedFilters are not supported by this emulator.")
    tests = [_filter(f) for f in expression.get("Filters") or []]
    tests += [_expression(sub) for sub in expression.get("SubExpressions") or []]
    if not tests:
        raise validation("A search expression must have at least one filter or sub-expression.")
    if expression.get("Operator", "And") == "Or":
        return lambda item: any(t(item) for t in tests)
    return lambda item: all(t(item) for t in tests)


def _filter(spec: dict[str, Any]) -> Test:
    name, operator, wanted = spec["Name"], spec.get("Operator", "Equals"), spec.get("Value")
    if operator not in ("Exists", "NotExists") and wanted is None:
        raise validation(f"Filter {name} with operator {operator} requires a Value.")

    def test(item: Record) -> bool:
        value = _value(item, name)
        if operator == "Exists":
            return value is not None
        if operator == "NotExists":
            return value is None
        if value is None:
            return bool(operator == "NotEquals")
        text = _text(value)
        if operator == "Equals":
            return text == wanted
        if operator == "NotEquals":
            return text != wanted
        if operator == "Contains":
            return str(wanted) in text
        if operator == "In":
            return text in str(wanted).split(",")
        ordered = _sort_key(value), _sort_key(_parse(value, str(wanted)))
        return bool(
            {
                "GreaterThan": ordered[0] > ordered[1],
                "GreaterThanOrEqualTo": ordered[0] >= ordered[1],
                "LessThan": ordered[0] < ordered[1],
                "LessThanOrEqualTo": ordered[0] <= ordered[1],
            }[operator]
        )

    return test


def _value(item: Record, name: str) -> Any:
    if name.startswith("Tags."):
        return item["Tags"].get(name[len("Tags.") :])
    value: Any = item
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _parse(like: Any, text: str) -> Any:
    """`text` as the type of `like` (times as epoch seconds or ISO 8601)."""
    if isinstance(like, int | float) and not isinstance(like, bool):
        try:
            return float(text)
        except ValueError:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    return text


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value))
    return (1, "" if value is None else str(value))


def _tags(ctx: Context, resource_arn: str) -> dict[str, str]:
    return dict(ctx.region.tags.get(resource_arn.lower(), {}))


def _list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]
