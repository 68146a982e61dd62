"""Which cluster made a resource: the rule every "does this belong to nobody?" answer uses.

A uid tag proves which LLMEndpoint a resource is for, but only the cluster that holds
that LLMEndpoint can tell whether it still exists. Several clusters may share one AWS
account, so a resource whose uid names no LLMEndpoint *here* may be another cluster's,
alive and serving. The `llmoperator.io/cluster-id` tag (the kube-system Namespace's
uid, read by the operator itself: no configuration) says which cluster made it; the
optional human `llmoperator.io/cluster` name says it too for resources made before
the id existed. Resources with neither are "unattributed": nothing on them says
whose they are.

The operator tags what it already owns (its uid tag) with the id on the first pass
that sees it without; `audit` and adoption read it (see docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from llm_operator.core import taggable
from llm_operator.core.actions import Action
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    CLUSTER_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    DesiredState,
)
from llm_operator.core.observed import ObservedState


class Attribution(StrEnum):
    """Whose cluster a resource's tags name, seen from one cluster."""

    THIS = "this cluster"
    OTHER = "other cluster"
    UNATTRIBUTED = "unattributed"


def attribute(tags: Mapping[str, str], cluster_id: str, cluster_name: str = "") -> Attribution:
    """The cluster-id tag decides; without it, a cluster name tag does (a name other
    than this cluster's is another cluster's); with neither, nobody can tell."""
    tagged_id = tags.get(CLUSTER_ID_TAG)
    if tagged_id:
        return Attribution.THIS if tagged_id == cluster_id else Attribution.OTHER
    tagged_name = tags.get(CLUSTER_TAG)
    if tagged_name:
        return Attribution.THIS if tagged_name == cluster_name else Attribution.OTHER
    return Attribution.UNATTRIBUTED


def cluster_tags(cluster_id: str) -> dict[str, str]:
    """What stamping adds: the id, and the managed-by tag every tagging request carries
    (the IAM policy requires it)."""
    return {MANAGED_BY_TAG: MANAGED_BY, CLUSTER_ID_TAG: cluster_id}


def stamp(desired: DesiredState, observed: ObservedState) -> list[Action]:
    """AddTags (or TagResource) for each resource of this LLMEndpoint whose cluster-id
    tag is missing or stale: resources made before the id existed get it once.

    Only resources whose uid tag names this LLMEndpoint are tagged (and the shell reads
    that tag again right before the call). Scaling policies carry no tags.
    """
    cluster_id = desired.owner.cluster_id
    if not cluster_id:
        return []
    uid = desired.owner.uid
    tags = cluster_tags(cluster_id)
    return [t.tag(tags, uid) for t in taggable.ours(observed, uid) if t.cluster_id != cluster_id]
