"""The resources of one LLMEndpoint that tagging calls may touch, in the order they are
tagged: what stamping the cluster id (`core.attribution`) and re-applying the spec's
tags (`core.retag`) both walk, so that they agree on what is ours and how it is tagged.

Only resources whose uid tag names this LLMEndpoint and whose ARN is known; scaling
policies carry no tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
from llm_operator.core.observed import ObservedState


@dataclass(frozen=True)
class Taggable:
    """One resource of ours: its tagging call, and (SageMaker kinds only) the call that
    removes keys from it."""

    name: str
    arn: str
    cluster_id: str | None  # the cluster-id tag it carries now
    tag_class: type[AddTags] | type[TagAlarm] | type[TagScalableTarget]
    drop_class: type[DropTags] | None = None
    dimension: str = ""  # a scalable target's

    def tag(self, tags: Mapping[str, str], owner_uid: str) -> Action:
        if issubclass(self.tag_class, TagScalableTarget):
            return TagScalableTarget(
                name=self.name,
                arn=self.arn,
                dimension=self.dimension,
                tags=tags,
                owner_uid=owner_uid,
            )
        return self.tag_class(name=self.name, arn=self.arn, tags=tags, owner_uid=owner_uid)

    def drop(self, keys: tuple[str, ...], owner_uid: str) -> Action | None:
        if self.drop_class is None:
            return None
        return self.drop_class(name=self.name, arn=self.arn, keys=keys, owner_uid=owner_uid)


def ours(observed: ObservedState, uid: str) -> list[Taggable]:
    """This LLMEndpoint's taggable resources: endpoint, components, configs, models,
    scalable target, alarms, then the scale-from-zero alarm."""

    def mine(owner_uid: str | None, arn: str) -> bool:
        return owner_uid == uid and bool(arn)

    found: list[Taggable] = []
    ep = observed.endpoint
    if ep is not None and mine(ep.owner_uid, ep.arn):
        found.append(Taggable(ep.name, ep.arn, ep.owner_cluster_id, TagEndpoint, DropEndpointTags))
    for c in sorted(observed.components.values(), key=lambda c: c.name):
        if mine(c.owner_uid, c.arn):
            found.append(
                Taggable(
                    c.name,
                    c.arn,
                    c.owner_cluster_id,
                    TagInferenceComponent,
                    DropInferenceComponentTags,
                )
            )
    for r in sorted(observed.endpoint_configs.values(), key=lambda r: r.name):
        if mine(r.owner_uid, r.arn):
            found.append(
                Taggable(
                    r.name, r.arn, r.owner_cluster_id, TagEndpointConfig, DropEndpointConfigTags
                )
            )
    for r in sorted(observed.models.values(), key=lambda r: r.name):
        if mine(r.owner_uid, r.arn):
            found.append(Taggable(r.name, r.arn, r.owner_cluster_id, TagModel, DropModelTags))
    target = observed.scaling.target
    if target is not None and mine(target.owner_uid, target.arn):
        found.append(
            Taggable(
                target.resource_id,
                target.arn,
                target.owner_cluster_id,
                TagScalableTarget,
                dimension=target.dimension,
            )
        )
    for a in sorted(observed.alarms.values(), key=lambda a: a.name):
        if mine(a.owner_uid, a.arn):
            found.append(Taggable(a.name, a.arn, a.owner_cluster_id, TagAlarm))
    zero = observed.scaling.alarm
    if zero is not None and mine(zero.owner_uid, zero.arn):
        found.append(Taggable(zero.name, zero.arn, zero.owner_cluster_id, TagAlarm))
    return found
