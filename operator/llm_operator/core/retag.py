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

from llm_operator.core import taggable
from llm_operator.core.actions import Action
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
    for t in taggable.ours(observed, uid):
        if changed:
            actions.append(t.tag(tags, uid))
        # A key taken away stays on scalable targets and alarms (no drop call for them:
        # Application Auto Scaling's UntagResource has no action yet).
        if gone and (drop := t.drop(gone, uid)) is not None:
            actions.append(drop)
    return actions
