"""Tags that follow the spec: what already exists is re-tagged when the effective tags change.

The effective tags (spec.aws.tags, the LLMEndpointPolicies' default tags, their enforced
tags: exactly what every Create sends besides the ownership tags) are recorded in the
plan's memory (`PlanMemory.tags`) once every resource carries them. When they differ
from that record, each resource of this LLMEndpoint gets the keys added or changed
(AddTags, TagResource), and each SageMaker resource loses the keys the record has and
the spec no longer wants (DeleteTags). Keys nobody here ever set (added by hand) are left alone,
and the ownership tags (`llmoperator.io/*`) are never touched.

Comparing with the record, not with each resource's tags, costs no ListTags: the only
reads are the ones the executor's ownership guard makes right before each tagging call.
The record is written only once every call of the pass succeeded, so a crash between
two calls re-tags everything again on restart (both calls are idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping

from llm_operator.core.actions import (
    Action,
    AddTags,
    DropEndpointConfigTags,
    DropEndpointTags,
    DropInferenceComponentTags,
    DropModelTags,
    DropTags,
    TagAlarm,
    TagEndpoint,
    TagEndpointConfig,
    TagInferenceComponent,
    TagModel,
    TagScalableTarget,
)
from llm_operator.core.desired import MANAGED_BY, MANAGED_BY_TAG, DesiredState
from llm_operator.core.observed import ObservedState

# Keys the operator owns: ownership, cluster id, Retain. Never re-tagged or removed here.
OWNERSHIP_PREFIX = "llmoperator.io/"


def effective(desired: DesiredState) -> dict[str, str]:
    """The tags a Create sends besides the ownership tags."""
    return {k: v for k, v in desired.tags.items() if not k.startswith(OWNERSHIP_PREFIX)}


def converge(
    desired: DesiredState, observed: ObservedState, applied: Mapping[str, str] | None
) -> list[Action]:
    """The tagging calls that bring every resource of this LLMEndpoint from `applied`
    (what the memory records they carry; None: nothing recorded yet, taken as current)
    to the effective tags. Only resources whose uid tag names this LLMEndpoint."""
    wanted = effective(desired)
    if applied is None or dict(applied) == wanted:
        return []
    changed = {k: v for k, v in wanted.items() if applied.get(k) != v}
    gone = tuple(
        sorted(k for k in applied if k not in wanted and not k.startswith(OWNERSHIP_PREFIX))
    )
    # Every tagging request carries the managed-by tag (the IAM policy requires it).
    tags = {MANAGED_BY_TAG: MANAGED_BY, **changed}
    uid = desired.owner.uid
    actions: list[Action] = []

    def ours(owner_uid: str | None, arn: str) -> bool:
        return owner_uid == uid and bool(arn)

    found: list[tuple[type[AddTags], type[DropTags], str, str]] = []
    ep = observed.endpoint
    if ep is not None and ours(ep.owner_uid, ep.arn):
        found.append((TagEndpoint, DropEndpointTags, ep.name, ep.arn))
    for c in sorted(observed.components.values(), key=lambda c: c.name):
        if ours(c.owner_uid, c.arn):
            found.append((TagInferenceComponent, DropInferenceComponentTags, c.name, c.arn))
    for r in sorted(observed.endpoint_configs.values(), key=lambda r: r.name):
        if ours(r.owner_uid, r.arn):
            found.append((TagEndpointConfig, DropEndpointConfigTags, r.name, r.arn))
    for r in sorted(observed.models.values(), key=lambda r: r.name):
        if ours(r.owner_uid, r.arn):
            found.append((TagModel, DropModelTags, r.name, r.arn))
    for tag, untag, name, arn in found:
        if changed:
            actions.append(tag(name=name, arn=arn, tags=tags, owner_uid=uid))
        if gone:
            actions.append(untag(name=name, arn=arn, keys=gone, owner_uid=uid))

    # Scalable targets and alarms get the keys added or changed; a key taken away
    # stays on them (Application Auto Scaling's UntagResource has no action yet).
    target = observed.scaling.target
    if target is not None and ours(target.owner_uid, target.arn):
        where = {"name": target.resource_id, "arn": target.arn, "dimension": target.dimension}
        if changed:
            actions.append(TagScalableTarget(**where, tags=tags, owner_uid=uid))
    alarms = {a.name: a.arn for a in observed.alarms.values() if ours(a.owner_uid, a.arn)}
    zero = observed.scaling.alarm
    if zero is not None and ours(zero.owner_uid, zero.arn):
        alarms[zero.name] = zero.arn
    for name, arn in sorted(alarms.items()):
        if changed:
            actions.append(TagAlarm(name=name, arn=arn, tags=tags, owner_uid=uid))
    return actions
