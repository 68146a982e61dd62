"""What every operation needs: the caller's namespace, the clock, tags, List* paging, images."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..caller import Caller
from ..errors import validation
from ..state import Record, Region, Store, arn

MAX_TAGS = 50


@dataclass
class Context:
    store: Store
    caller: Caller
    now: float

    @property
    def region(self) -> Region:
        return self.store.region(self.caller)

    def arn(self, kind: str, name: str) -> str:
        return arn(self.caller, kind, name)


Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]


def tag_resource(ctx: Context, resource_arn: str, tags: Iterable[dict[str, str]]) -> None:
    current = ctx.region.tags.setdefault(resource_arn.lower(), {})
    merged = dict(current)
    for tag in tags:
        merged[tag["Key"]] = tag["Value"]
    if len(merged) > MAX_TAGS:
        raise validation(
            f"Resource {resource_arn} can have at most {MAX_TAGS} tags; "
            f"this request would leave it with {len(merged)}."
        )
    current.clear()
    current.update(merged)


def forget_tags(ctx: Context, resource_arn: str) -> None:
    ctx.region.tags.pop(resource_arn.lower(), None)


def _decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise validation("The pagination token is invalid.") from None
    if offset < 0:
        raise validation("The pagination token is invalid.")
    return offset


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _as_time(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def page(
    records: Iterable[Record],
    params: dict[str, Any],
    *,
    name_key: str,
    status_key: str | None = None,
    equals: dict[str, str] | None = None,
    default_max: int = 10,
    tiebreak: str | None = None,
) -> tuple[list[Record], str | None]:
    """Filter, sort and page a List* request the way SageMaker does (newest first by default).

    Equal sort keys are ordered by name, then by `tiebreak` (versions of one model package
    group share their name).
    """
    chosen = list(records)
    contains = params.get("NameContains")
    if contains:
        chosen = [r for r in chosen if contains.lower() in r[name_key].lower()]
    if status_key and params.get("StatusEquals"):
        chosen = [r for r in chosen if r.get(status_key) == params["StatusEquals"]]
    for param, key in (equals or {}).items():
        if params.get(param):
            chosen = [r for r in chosen if r.get(key) == params[param]]
    for param, key, before in (
        ("CreationTimeBefore", "CreationTime", True),
        ("CreationTimeAfter", "CreationTime", False),
        ("LastModifiedTimeBefore", "LastModifiedTime", True),
        ("LastModifiedTimeAfter", "LastModifiedTime", False),
    ):
        if params.get(param) is not None:
            bound = _as_time(params[param])
            chosen = [r for r in chosen if (r[key] < bound if before else r[key] > bound)]
    sort_by = params.get("SortBy", "CreationTime")
    sort_key = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key or name_key}[
        sort_by
    ]
    chosen.sort(
        key=lambda r: (r.get(sort_key) or "", r[name_key], r.get(tiebreak or "") or 0),
        reverse=params.get("SortOrder", "Descending") == "Descending",
    )
    offset = _decode_token(params["NextToken"]) if params.get("NextToken") else 0
    limit = int(params.get("MaxResults") or default_max)
    items = chosen[offset : offset + limit]
    more = offset + limit < len(chosen)
    return items, _encode_token(offset + limit) if more else None


def touch(record: Record, now: float) -> None:
    record["LastModifiedTime"] = now


def resolved_image(image: str) -> str:
    """An image as DeployedImages shows it: resolved to a (made-up, stable) digest."""
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.split(':')[0]}@sha256:{digest}"
