"""Tags on any model, endpoint config, endpoint, inference component, model package group or
model package, addressed by ARN."""

from __future__ import annotations

from typing import Any

from ..errors import validation
from ..state import ARN_KIND, ARN_MEMBER, TABLES
from .common import Context, tag_resource


def _existing(ctx: Context, resource_arn: str) -> str:
    """The stored key of a resource's tags; AWS answers a ValidationException for unknown ARNs."""
    wanted = resource_arn.lower()
    prefix = f"arn:aws:sagemaker:{ctx.caller.region}:{ctx.caller.account}:"
    if wanted.startswith(prefix):
        kind_name = wanted[len(prefix) :].split("/", 1)[0]
        for kind in TABLES:
            if ARN_KIND[kind] != kind_name:
                continue
            for record in ctx.region.table(kind).values():
                if record[ARN_MEMBER[kind]] == wanted:
                    return wanted
    raise validation(f"Resource {resource_arn} was not found.")


def add_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _existing(ctx, params["ResourceArn"])
    tag_resource(ctx, params["ResourceArn"], params["Tags"])
    return {"Tags": params["Tags"]}


def list_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = _existing(ctx, params["ResourceArn"])
    tags = [{"Key": k, "Value": v} for k, v in ctx.region.tags.get(key, {}).items()]
    start = 0
    if params.get("NextToken"):
        try:
            start = int(params["NextToken"])
        except ValueError:
            raise validation("The pagination token is invalid.") from None
    limit = int(params.get("MaxResults") or 50)
    out: dict[str, Any] = {"Tags": tags[start : start + limit]}
    if start + limit < len(tags):
        out["NextToken"] = str(start + limit)
    return out


def delete_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = _existing(ctx, params["ResourceArn"])
    current = ctx.region.tags.get(key, {})
    for tag_key in params["TagKeys"]:
        current.pop(tag_key, None)
    return {}
