"""Builds `ObservedState` for one LLMEndpoint without a Describe per resource per pass.

Designed for a thousand LLMEndpoints per replica: an inventory per scope
(region and AWS identity, so per account and region) from paginated
ListEndpoints / ListInferenceComponents / ListModels / ListEndpointConfigs is
shared by every resource of that scope; one account's inventory never holds
another's resources. Each caller
says how old an inventory it accepts: a resource that is moving wants one no
older than the poll interval, a settled one accepts one a resync interval old,
so a quiet region costs a few List calls per resync interval. The inventory is
indexed when it is taken (components by endpoint, models and configs by owner
prefix), so a pass costs the same with ten or ten thousand resources.

A Describe happens only for a resource that is transitioning, whose
LastModifiedTime changed since the cached Describe, that we acted on after the
inventory was taken, or whose cached Describe expired. A cached Describe expires
on its resource's own tick, once per `describe_max_age`, the ticks of different
resources spread evenly over that period: resources created together do not all
re-Describe in the same second, and a settled resource costs one Describe per period.
Ownership tags are read (ListTags, cached by ARN and creation time) only for a
resource that is not recorded as ours.

spec.autoscaling's scalable targets, scaling policies and alarms are observed
the same way: a second per-region inventory (DescribeScalableTargets,
DescribeScalingPolicies for the sagemaker namespace, DescribeAlarms), indexed
once per refresh, taken only while some LLMEndpoint of the region has or had
autoscaling. The targets are listed again once per `targets_max_age` (the resync
interval: their bounds are what the autoscaler obeys, so bounds changed by hand are
seen within one resync); the policies and alarms are accepted as old as a cached
Describe (`describe_max_age`), since only someone acting changes them. A targeted Describe (one
DescribeScalableTargets for the LLMEndpoint's resource ids, the policies of a
target found) only for what we changed since the inventory, and on a spec
change, so a change never waits behind the region's pages. The last scaling
activity is asked for only when the count it explains changed.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from llm_operator.core import naming
from llm_operator.core.actions import SERVICE_NAMESPACE
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    NAME_TAG,
    NAMESPACE_TAG,
    UID_TAG,
    DesiredState,
)
from llm_operator.core.identity import Identity
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, CLOUDWATCH, SAGEMAKER, Kind
from llm_operator.core.observed import (
    ObservedAlarm,
    ObservedComponent,
    ObservedEndpoint,
    ObservedPolicy,
    ObservedResource,
    ObservedScaling,
    ObservedScalingAlarm,
    ObservedState,
    ObservedTarget,
    ScalingActivity,
)
from llm_operator.shell.aws import INTERACTIVE, AwsError, Lane, SageMaker, Scope, Where, scope

# SageMaker statuses after which nothing changes until someone acts.
STEADY = frozenset({"InService", "Failed", "OutOfService"})


@dataclass
class Inventory:
    """List* summaries of one scope (account and region), keyed by name."""

    taken_at: float  # monotonic time the refresh started
    endpoints: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    components: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    models: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    endpoint_configs: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # Indexes built once per refresh, so a pass never scans the whole region.
    components_on: dict[str, set[str]] = field(default_factory=dict)  # by EndpointName
    models_of: dict[str, set[str]] = field(default_factory=dict)  # by owner prefix
    configs_of: dict[str, set[str]] = field(default_factory=dict)  # by owner prefix

    def index(self) -> None:
        for name, summary in self.components.items():
            endpoint = str(summary.get("EndpointName", ""))
            self.components_on.setdefault(endpoint, set()).add(name)
        for names, table, kind in (
            (self.models_of, self.models, Kind.MODEL),
            (self.configs_of, self.endpoint_configs, Kind.ENDPOINT_CONFIG),
        ):
            for name in table:
                owner_prefix = naming.immutable_prefix(kind, name)
                if owner_prefix is not None:
                    names.setdefault(owner_prefix, set()).add(name)


@dataclass
class ScalingInventory:
    """Application Auto Scaling and CloudWatch summaries of one region.

    The targets (whose bounds the autoscaler obeys) are listed again more often than
    the policies and alarms: `taken_at` is when the targets were listed, `policies_at`
    when the policies and alarms were (at or before `taken_at`).
    """

    taken_at: float
    policies_at: float = float("-inf")
    targets: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # by ResourceId
    # ResourceId -> PolicyName -> policy
    policies: dict[str, dict[str, Mapping[str, Any]]] = field(default_factory=dict)
    alarms: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # by AlarmName


@dataclass(frozen=True)
class _Described:
    response: Mapping[str, Any]
    at: float  # monotonic time of the Describe


@dataclass(frozen=True)
class TagOwner:
    uid: str | None
    name: str | None  # "namespace/name"
    cluster_id: str | None = None  # the llmoperator.io/cluster-id tag


def _tag_owner(tags: Mapping[str, str]) -> TagOwner:
    namespace, name = tags.get(NAMESPACE_TAG), tags.get(NAME_TAG)
    return TagOwner(
        tags.get(UID_TAG),
        f"{namespace}/{name}" if namespace and name else None,
        tags.get(CLUSTER_ID_TAG),
    )


class _Timed(Protocol):
    taken_at: float


_T = TypeVar("_T", bound=_Timed)


class _SingleFlight(Generic[_T]):
    """One refresh at a time of one inventory; callers queued behind it take its result."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.value: _T | None = None

    async def get(self, asked: float, age: float, refresh: Callable[[], Awaitable[_T]]) -> _T:
        # Judged by when the caller asked, so callers queued behind a slow refresh
        # take its result instead of starting another one.
        current = self.value
        if current is not None and current.taken_at > asked - age:
            return current
        async with self.lock:
            current = self.value
            if current is not None and current.taken_at > asked - age:
                return current
            self.value = await refresh()
            return self.value


class _Region:
    def __init__(self) -> None:
        self.inventory: _SingleFlight[Inventory] = _SingleFlight()
        self.scaling: _SingleFlight[ScalingInventory] = _SingleFlight()


class Observer:
    """Shared by every LLMEndpoint of the replica; all state is in-memory caches."""

    def __init__(
        self,
        sagemaker: SageMaker,
        *,
        max_age: float,
        describe_max_age: float,
        targets_max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sagemaker = sagemaker
        self.max_age = max_age
        self.describe_max_age = describe_max_age
        # The region's scalable targets are listed again once per this period (the
        # resync interval: bounds changed by hand are caught like SageMaker drift);
        # their policies and alarms once per `describe_max_age`.
        self.targets_max_age = describe_max_age if targets_max_age is None else targets_max_age
        self._clock = clock
        self._places: dict[Scope, _Region] = {}
        self._described: dict[tuple[Scope, Kind, str], _Described] = {}
        # (scope, ARN) -> (its creation time, who its tags name): a resource made again
        # under the same name (same ARN) has a new creation time, so it is read again.
        self._owners: dict[tuple[Scope, str], tuple[str, TagOwner]] = {}
        self._touched: dict[tuple[Scope, Kind, str], float] = {}
        # (scope, ResourceId) -> ((desired, current) it was asked for, the activity)
        self._activities: dict[tuple[Scope, str], tuple[Any, ScalingActivity | None]] = {}

    # -- the shared inventory -----------------------------------------------------

    async def inventory(self, where: Where, max_age: float | None = None) -> Inventory:
        """The scope's inventory, refreshed when older than `max_age` (default: the
        observer's). Concurrent callers share one refresh (single flight per scope);
        refreshes always use the interactive lane, since every pass waits for them.
        """
        place = scope(where)
        state = self._places.setdefault(place, _Region())
        age = self.max_age if max_age is None else max_age
        return await state.inventory.get(self._clock(), age, lambda: self._take(place))

    async def _take(self, place: Scope) -> Inventory:
        fresh = Inventory(taken_at=self._clock())
        endpoints, components, models, configs = await asyncio.gather(
            self.sagemaker.list_all(place, "ListEndpoints", "Endpoints"),
            self.sagemaker.list_all(place, "ListInferenceComponents", "InferenceComponents"),
            self.sagemaker.list_all(place, "ListModels", "Models"),
            self.sagemaker.list_all(place, "ListEndpointConfigs", "EndpointConfigs"),
        )
        fresh.endpoints = {str(e["EndpointName"]): e for e in endpoints}
        fresh.components = {str(c["InferenceComponentName"]): c for c in components}
        fresh.models = {str(m["ModelName"]): m for m in models}
        fresh.endpoint_configs = {str(c["EndpointConfigName"]): c for c in configs}
        fresh.index()
        self._prune(place, fresh)
        return fresh

    async def scaling_inventory(
        self, where: Where, max_age: float | None = None, policies_max_age: float | None = None
    ) -> ScalingInventory:
        """The region's targets, policies and alarms; refreshed like `inventory`.

        A refresh lists the targets; the policies and alarms only when they are older
        than `policies_max_age` (default: always).
        """
        place = scope(where)
        state = self._places.setdefault(place, _Region())
        age = self.max_age if max_age is None else max_age

        def take() -> Awaitable[ScalingInventory]:
            return self._take_scaling(place, state.scaling.value, policies_max_age)

        return await state.scaling.get(self._clock(), age, take)

    async def _take_scaling(
        self,
        place: Scope,
        previous: ScalingInventory | None = None,
        policies_max_age: float | None = None,
    ) -> ScalingInventory:
        now = self._clock()
        fresh = ScalingInventory(taken_at=now, policies_at=now)
        aws = self.sagemaker
        # Policies and alarms change only when someone acts on them, and each costs
        # pages of its own: kept from the previous refresh while young enough.
        keep = (
            previous is not None
            and policies_max_age is not None
            and previous.policies_at > now - policies_max_age
        )
        listing = [
            aws.list_all(
                place,
                "DescribeScalableTargets",
                "ScalableTargets",
                service=APPLICATION_AUTOSCALING,
                ServiceNamespace=SERVICE_NAMESPACE,
            )
        ]
        if not keep:
            listing += [
                aws.list_all(
                    place,
                    "DescribeScalingPolicies",
                    "ScalingPolicies",
                    service=APPLICATION_AUTOSCALING,
                    ServiceNamespace=SERVICE_NAMESPACE,
                ),
                aws.list_all(
                    place,
                    "DescribeAlarms",
                    "MetricAlarms",
                    service=CLOUDWATCH,
                    AlarmTypes=["MetricAlarm"],
                ),
            ]
        answers = await asyncio.gather(*listing)
        targets = answers[0]
        fresh.targets = {str(t["ResourceId"]): t for t in targets}
        if keep and previous is not None:
            fresh.policies_at = previous.policies_at
            fresh.policies = dict(previous.policies)
            fresh.alarms = dict(previous.alarms)
        else:
            for policy in answers[1]:
                table = fresh.policies.setdefault(str(policy["ResourceId"]), {})
                table[str(policy["PolicyName"])] = policy
            fresh.alarms = {str(a["AlarmName"]): a for a in answers[2]}
        self._touched = {
            key: at
            for key, at in self._touched.items()
            if key[0] != place or key[1].service == SAGEMAKER or at >= _listed_at(fresh, key[1])
        }
        arns = {str(t.get("ScalableTargetARN")) for t in targets} | {
            str(a.get("AlarmArn")) for a in fresh.alarms.values()
        }
        self._owners = {
            key: owner
            for key, owner in self._owners.items()
            if key[0] != place
            or not (_arn_of(key[1], APPLICATION_AUTOSCALING) or _arn_of(key[1], CLOUDWATCH))
            or key[1] in arns
        }
        self._activities = {
            key: found
            for key, found in self._activities.items()
            if key[0] != place or key[1] in fresh.targets
        }
        return fresh

    def _prune(self, place: Scope, inventory: Inventory) -> None:
        """Drops what a fresh inventory makes useless, so memory stays bounded."""
        listed = {
            Kind.ENDPOINT: inventory.endpoints,
            Kind.INFERENCE_COMPONENT: inventory.components,
            Kind.MODEL: inventory.models,
            Kind.ENDPOINT_CONFIG: inventory.endpoint_configs,
        }
        self._touched = {
            key: at
            for key, at in self._touched.items()
            if key[0] != place or key[1].service != SAGEMAKER or at >= inventory.taken_at
        }
        self._described = {
            key: found
            for key, found in self._described.items()
            if key[0] != place or key[2] in listed[key[1]] or key in self._touched
        }
        arns = {
            str(summary.get(kind.arn_member))
            for kind, table in listed.items()
            for summary in table.values()
        }
        self._owners = {
            key: owner
            for key, owner in self._owners.items()
            if key[0] != place or key[1] in arns or not _arn_of(key[1], SAGEMAKER)
        }

    def touched(self, where: Where, kind: Kind, name: str) -> None:
        """Records that we changed a resource: older inventories and Describes no longer count."""
        key = (scope(where), kind, name)
        self._touched[key] = self._clock()
        self._described.pop(key, None)

    def retagged(self, where: Where, arns: Collection[str]) -> None:
        """Forgets the owners read for these ARNs: their tags changed (an adoption)."""
        place, changed = scope(where), set(arns)
        self._owners = {
            key: owner
            for key, owner in self._owners.items()
            if key[0] != place or key[1] not in changed
        }

    def _seen(self, place: Scope, keys: Collection[tuple[Kind, str]]) -> None:
        """What was just Described directly is no longer newer than the inventory."""
        for kind, name in keys:
            self._touched.pop((place, kind, name), None)

    def _stale(
        self, place: Scope, kind: Kind, name: str, inventory: Inventory | ScalingInventory
    ) -> bool:
        touched = self._touched.get((place, kind, name))
        if touched is None:
            return False
        if isinstance(inventory, ScalingInventory):
            return touched >= _listed_at(inventory, kind)
        return touched >= inventory.taken_at

    # -- Describe, only when needed ----------------------------------------------

    async def _describe(
        self,
        place: Scope,
        kind: Kind,
        name: str,
        summary: Mapping[str, Any] | None,
        *,
        stale: bool,
        full: bool,
        listed_at: float = float("-inf"),
        lane: Lane = INTERACTIVE,
    ) -> Mapping[str, Any] | None:
        """A Describe answer (cached when nothing says it changed), or None if absent.

        `listed_at`: when the inventory holding `summary` was taken; a cached
        Describe newer than that outranks the summary.
        """
        if summary is None and not stale:
            self._described.pop((place, kind, name), None)
            return None
        key = (place, kind, name)
        cached = self._described.get(key)
        now = self._clock()
        if (
            cached is not None
            and summary is not None
            and not stale
            and not full
            and now < _expiry(cached.at, self.describe_max_age, kind, name)
            and _status(kind, cached.response) in STEADY
            and (
                cached.at >= listed_at
                or (
                    _status(kind, summary) == _status(kind, cached.response)
                    and summary.get("LastModifiedTime") == cached.response.get("LastModifiedTime")
                )
            )
        ):
            return cached.response
        operation, argument = kind.describe, kind.name_member
        try:
            response = await self.sagemaker.call(place, operation, {argument: name}, lane=lane)
        except AwsError as error:
            if error.kind == "not_found":
                self._described.pop(key, None)
                return None
            raise
        self._described[key] = _Described(response, now)
        return response

    async def _owner(
        self,
        place: Scope,
        arn: str,
        created: Any,
        ours: bool,
        own: TagOwner,
        lane: Lane = INTERACTIVE,
        service: str = SAGEMAKER,
    ) -> TagOwner:
        """Who the resource's tags name (read once per ARN and creation time).

        `own`: this LLMEndpoint as its tags name it, for what this process created.
        """
        if ours:
            return own
        key, when = (place, arn), str(created)
        cached = self._owners.get(key)
        if cached is not None and cached[0] == when:
            return cached[1]
        found = _tag_owner(await self.sagemaker.tags(place, arn, lane=lane, service=service))
        self._owners[key] = (when, found)
        return found

    def tagged(self, where: Where, arn: str, tags: Mapping[str, str]) -> None:
        """Records tags we just added to a resource, so its owner is not read again."""
        key = (scope(where), arn)
        cached = self._owners.get(key)
        if cached is not None:
            when, owner = cached
            self._owners[key] = (
                when,
                TagOwner(
                    tags.get(UID_TAG, owner.uid),
                    owner.name,
                    tags.get(CLUSTER_ID_TAG, owner.cluster_id),
                ),
            )

    # -- one LLMEndpoint ----------------------------------------------------------

    async def observe(
        self,
        desired: DesiredState,
        *,
        ours: Collection[str] = (),
        full: bool = False,
        max_age: float | None = None,
        lane: Lane = INTERACTIVE,
        alarms: Collection[str] = (),
        identity: Identity | None = None,
        extra: Collection[str] = (),
        scaling: bool = False,
    ) -> ObservedState:
        """What SageMaker (and CloudWatch) hold for `desired`'s LLMEndpoint.

        `ours`: names known to be this LLMEndpoint's (their tags are not read
        again). Older models and endpoint configs are found by this
        LLMEndpoint's name prefix, so they can be deleted.
        `full`: Describe everything (the slow resync, or a spec change).
        `max_age`: the oldest inventory this pass accepts (default: the observer's).
        `lane`: the lane of this pass's Describes and ListTags.
        `alarms`: names of rollback alarms to look up in CloudWatch (none: no call).
        `identity`: who to ask as (default: the operator's own credentials).
        `extra`: more names to look at (what an adoption tagged as ours); their tags
        are read like any other's.
        `scaling`: also observe its scalable target, policies and alarm (spec.autoscaling
        is set, or was and something of it may remain).
        """
        place = Scope(desired.region, identity or Identity())
        own = _own(desired)
        ours_set = set(ours)
        extra_set = set(extra) - ours_set
        # Models and configs are found by the derived prefix, which is the endpoint's
        # name unless the endpoint was adopted.
        own_prefix = (
            naming.immutable_prefix(Kind.MODEL, desired.model.name) or desired.endpoint_name
        )
        inventory = await self.inventory(place, max_age)

        async def owner(arn: str, created: Any, name: str) -> TagOwner:
            return await self._owner(place, arn, created, name in ours_set, own, lane)

        # Endpoint.
        endpoint: ObservedEndpoint | None = None
        name = desired.endpoint_name
        response = await self._describe(
            place,
            Kind.ENDPOINT,
            name,
            inventory.endpoints.get(name),
            stale=self._stale(place, Kind.ENDPOINT, name, inventory),
            full=full,
            listed_at=inventory.taken_at,
            lane=lane,
        )
        if response is not None:
            who = await owner(str(response["EndpointArn"]), response.get("CreationTime"), name)
            variants = response.get("ProductionVariants") or []
            current = sum(int(v.get("CurrentInstanceCount") or 0) for v in variants)
            wanted = sum(int(v.get("DesiredInstanceCount") or 0) for v in variants)
            pending = response.get("PendingDeploymentSummary") or {}
            stage = _variant_status(pending.get("ProductionVariants") or variants)
            endpoint = ObservedEndpoint(
                name=name,
                arn=str(response["EndpointArn"]),
                status=str(response.get("EndpointStatus", "")),
                config_name=str(response.get("EndpointConfigName", "")),
                failure_reason=response.get("FailureReason") or None,
                current_instances=current if variants else None,
                desired_instances=wanted if variants else None,
                owner_uid=who.uid,
                owner_name=who.name,
                owner_cluster_id=who.cluster_id,
                pending_config=pending.get("EndpointConfigName") or None,
                deployment_status=stage.get("Status"),
                deployment_message=stage.get("StatusMessage"),
                last_modified=_epoch(response.get("LastModifiedTime")),
            )

        # Inference components: desired ones, ones recorded as ours, and any on our endpoint.
        names = {c.name for c in desired.components}
        names |= {n for n in ours_set | extra_set if n in inventory.components}
        names |= inventory.components_on.get(desired.endpoint_name, set())
        components: dict[str, ObservedComponent] = {}
        described = await asyncio.gather(
            *(
                self._describe(
                    place,
                    Kind.INFERENCE_COMPONENT,
                    n,
                    inventory.components.get(n),
                    stale=self._stale(place, Kind.INFERENCE_COMPONENT, n, inventory),
                    full=full,
                    listed_at=inventory.taken_at,
                    lane=lane,
                )
                for n in sorted(names)
            )
        )
        for n, found in zip(sorted(names), described, strict=True):
            if found is not None:
                components[n] = await self._component(found, owner)

        # Models and endpoint configs: immutable, so existence and ownership are all we need.
        models = await self._immutables(
            place,
            Kind.MODEL,
            inventory.models,
            "ModelArn",
            {desired.model.name} | ours_set | extra_set,
            inventory.models_of.get(own_prefix, set()),
            inventory,
            owner,
            desired.owner.uid,
        )
        configs = await self._immutables(
            place,
            Kind.ENDPOINT_CONFIG,
            inventory.endpoint_configs,
            "EndpointConfigArn",
            {desired.endpoint_config.name} | ours_set | extra_set,
            inventory.configs_of.get(own_prefix, set()),
            inventory,
            owner,
            desired.owner.uid,
        )
        observed_scaling = ObservedScaling()
        if scaling or desired.scaling is not None:
            observed_scaling = await self._scaling(
                desired,
                place,
                ours_set,
                endpoint,
                components,
                full=full,
                max_age=self.max_age if max_age is None else max_age,
                lane=lane,
            )
        return ObservedState(
            endpoint=endpoint,
            components=components,
            models=models,
            endpoint_configs=configs,
            alarms=await self._alarms(place, alarms, lane),
            scaling=observed_scaling,
        )

    # -- Application Auto Scaling and CloudWatch -------------------------------------

    async def _scaling(
        self,
        desired: DesiredState,
        place: Scope,
        ours: set[str],
        endpoint: ObservedEndpoint | None,
        components: Mapping[str, ObservedComponent],
        *,
        full: bool,
        max_age: float,
        lane: Lane,
    ) -> ObservedScaling:
        # Targets, policies and alarms change only when someone acts on them, so the
        # region's inventory is accepted as old as a cached Describe. What this
        # LLMEndpoint changed since, and on a spec change its own target (unless the
        # inventory is as fresh as the pass asks), is asked for directly: two or three
        # calls. So a spec change takes the inventory as it is, even when a refresh is
        # due, and never waits behind the region's pages.
        held = self._places.get(place)
        taken = held.scaling.value if full and held is not None else None
        # The targets' bounds are what the autoscaler obeys: listed again each
        # `targets_max_age` (a resync interval), so bounds changed by hand are caught
        # within one resync like SageMaker's drift; policies and alarms once per
        # `describe_max_age`. One paged List for the whole region either way.
        inventory = taken or await self.scaling_inventory(
            place, self.targets_max_age, self.describe_max_age
        )
        # The base component's name is derived from the owner alone, so it is looked for
        # even when the desired state has no components (a spec that no longer renders).
        owner = desired.owner
        base = (
            desired.components[0].name
            if desired.components
            else naming.base_component_name(owner.namespace, owner.name, owner.cluster)
        )
        candidates = [
            naming.component_resource_id(base),
            naming.variant_resource_id(desired.endpoint_name, naming.variant_name()),
        ]
        if desired.scaling is not None:
            candidates.insert(0, desired.scaling.resource_id)
        ids = list(dict.fromkeys(candidates))
        alarm_name = naming.no_capacity_alarm_name(desired.endpoint_name)
        policy_names = (
            naming.target_tracking_policy_name(desired.endpoint_name),
            naming.from_zero_policy_name(desired.endpoint_name),
        )

        def keys(resource_id: str) -> list[tuple[Kind, str]]:
            return [(Kind.SCALABLE_TARGET, resource_id)] + [
                (Kind.SCALING_POLICY, name) for name in policy_names
            ]

        recent = inventory.policies_at > self._clock() - max_age
        direct = [
            resource_id
            for resource_id in ids
            if any(self._stale(place, k, n, inventory) for k, n in keys(resource_id))
            or (full and not recent and (resource_id == ids[0] or resource_id in inventory.targets))
        ]
        if direct:
            # The answers are newer than the inventory: keep them there, so later
            # passes need not ask again.
            found = await self.sagemaker.call(
                place,
                "DescribeScalableTargets",
                {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceIds": direct},
                lane=lane,
                service=APPLICATION_AUTOSCALING,
            )
            listed = {str(t["ResourceId"]): t for t in found.get("ScalableTargets") or []}
            for resource_id in direct:
                inventory.targets.pop(resource_id, None)
                inventory.policies.pop(resource_id, None)
                if resource_id in listed:
                    inventory.targets[resource_id] = listed[resource_id]
                    # Policies live on a target (deregistering one deletes them).
                    answer = await self.sagemaker.call(
                        place,
                        "DescribeScalingPolicies",
                        {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceId": resource_id},
                        lane=lane,
                        service=APPLICATION_AUTOSCALING,
                    )
                    inventory.policies[resource_id] = {
                        str(p["PolicyName"]): p for p in answer.get("ScalingPolicies") or []
                    }
                self._seen(place, keys(resource_id))
        wants_alarm = desired.scaling is not None and desired.scaling.min_capacity == 0
        if self._stale(place, Kind.ALARM, alarm_name, inventory) or (
            full and not recent and (wants_alarm or alarm_name in inventory.alarms)
        ):
            found = await self.sagemaker.call(
                place,
                "DescribeAlarms",
                {"AlarmNames": [alarm_name]},
                lane=lane,
                service=CLOUDWATCH,
            )
            listed_alarms = found.get("MetricAlarms") or []
            inventory.alarms.pop(alarm_name, None)
            if listed_alarms:
                inventory.alarms[alarm_name] = listed_alarms[0]
            self._seen(place, [(Kind.ALARM, alarm_name)])
        targets, policies, alarms = inventory.targets, inventory.policies, inventory.alarms

        own = _own(desired)
        target: ObservedTarget | None = None
        for resource_id in candidates:
            summary = targets.get(resource_id)
            if summary is None:
                continue
            who = await self._owner(
                place,
                str(summary.get("ScalableTargetARN", "")),
                summary.get("CreationTime"),
                resource_id in ours,
                own,
                lane,
                service=APPLICATION_AUTOSCALING,
            )
            target = ObservedTarget(
                resource_id=resource_id,
                dimension=str(summary.get("ScalableDimension", "")),
                min_capacity=int(summary.get("MinCapacity") or 0),
                max_capacity=int(summary.get("MaxCapacity") or 0),
                owner_uid=who.uid,
                owner_name=who.name,
                owner_cluster_id=who.cluster_id,
                arn=str(summary.get("ScalableTargetARN", "")),
            )
            break
        found_policies: dict[str, ObservedPolicy] = {}
        if target is not None:
            for name, policy in policies.get(target.resource_id, {}).items():
                kind = str(policy.get("PolicyType", ""))
                member = (
                    "TargetTrackingScalingPolicyConfiguration"
                    if kind == "TargetTrackingScaling"
                    else "StepScalingPolicyConfiguration"
                )
                found_policies[name] = ObservedPolicy(
                    name=name,
                    arn=str(policy.get("PolicyARN", "")),
                    policy_type=kind,
                    configuration=policy.get(member) or {},
                )
        alarm: ObservedScalingAlarm | None = None
        summary = alarms.get(alarm_name)
        if summary is not None:
            who = await self._owner(
                place,
                str(summary.get("AlarmArn", "")),
                summary.get("AlarmConfigurationUpdatedTimestamp"),
                alarm_name in ours,
                own,
                lane,
                service=CLOUDWATCH,
            )
            alarm = ObservedScalingAlarm(
                name=alarm_name,
                actions=tuple(str(a) for a in summary.get("AlarmActions") or ()),
                settings=summary,
                state=summary.get("StateValue"),
                owner_uid=who.uid,
                owner_name=who.name,
                owner_cluster_id=who.cluster_id,
                arn=str(summary.get("AlarmArn", "")),
            )
        activity = None
        if target is not None and target.owner_uid == own.uid:
            activity = await self._last_activity(place, target, endpoint, components, lane)
        return ObservedScaling(
            target=target, policies=found_policies, alarm=alarm, last_activity=activity
        )

    async def _last_activity(
        self,
        place: Scope,
        target: ObservedTarget,
        endpoint: ObservedEndpoint | None,
        components: Mapping[str, ObservedComponent],
        lane: Lane,
    ) -> ScalingActivity | None:
        """The newest scaling activity, asked for again only when the count changed."""
        if target.resource_id.startswith("inference-component/"):
            seen = components.get(target.resource_id.split("/", 1)[1])
            counts: Any = (seen.desired_copies, seen.current_copies) if seen else None
        else:
            counts = (endpoint.desired_instances, endpoint.current_instances) if endpoint else None
        key = (place, target.resource_id)
        cached = self._activities.get(key)
        if cached is not None and cached[0] == counts:
            return cached[1]
        try:
            found = await self.sagemaker.call(
                place,
                "DescribeScalingActivities",
                {
                    "ServiceNamespace": SERVICE_NAMESPACE,
                    "ResourceId": target.resource_id,
                    "ScalableDimension": target.dimension,
                    "MaxResults": 1,
                },
                lane=lane,
                service=APPLICATION_AUTOSCALING,
            )
        except AwsError:
            return cached[1] if cached else None  # status detail only: never blocks a pass
        activities = found.get("ScalingActivities") or []
        activity = None
        if activities:
            newest = activities[0]
            start = newest.get("StartTime")
            activity = ScalingActivity(
                description=str(newest.get("Description", "")),
                status=str(newest.get("StatusCode", "")),
                start_time=_rfc3339(start),
            )
        self._activities[key] = (counts, activity)
        return activity

    async def _alarms(
        self, place: Scope, names: Collection[str], lane: Lane
    ) -> dict[str, ObservedAlarm]:
        """The rollback alarms by name, with their ownership tags (always read afresh:
        an alarm deleted and created again by someone else keeps its ARN)."""
        found: dict[str, ObservedAlarm] = {}
        for name in sorted(set(names)):
            alarm, tags = await self.sagemaker.alarm_owner(place, name, lane)
            if alarm is None:
                continue
            who = _tag_owner(tags)
            threshold = alarm.get("Threshold")
            found[name] = ObservedAlarm(
                name=name,
                threshold=float(threshold) if threshold is not None else None,
                owner_uid=who.uid,
                owner_name=who.name,
                owner_cluster_id=who.cluster_id,
                arn=str(alarm.get("AlarmArn", "")),
            )
        return found

    async def _component(self, response: Mapping[str, Any], owner: Any) -> ObservedComponent:
        spec = response.get("Specification") or {}
        runtime = response.get("RuntimeConfig") or {}
        container = spec.get("Container") or {}
        compute = spec.get("ComputeResourceRequirements")
        name = str(response["InferenceComponentName"])
        who: TagOwner = await owner(
            str(response["InferenceComponentArn"]), response.get("CreationTime"), name
        )
        return ObservedComponent(
            name=name,
            status=str(response.get("InferenceComponentStatus", "")),
            endpoint_name=str(response.get("EndpointName", "")),
            model_name=spec.get("ModelName"),
            compute={k: float(v) for k, v in compute.items()} if compute else None,
            artifact_url=container.get("ArtifactUrl"),
            base_component=spec.get("BaseInferenceComponentName"),
            desired_copies=runtime.get("DesiredCopyCount"),
            current_copies=runtime.get("CurrentCopyCount"),
            failure_reason=response.get("FailureReason") or None,
            owner_uid=who.uid,
            owner_name=who.name,
            owner_cluster_id=who.cluster_id,
            arn=str(response["InferenceComponentArn"]),
            last_modified=_epoch(response.get("LastModifiedTime")),
        )

    async def _immutables(
        self,
        place: Scope,
        kind: Kind,
        listed: Mapping[str, Mapping[str, Any]],
        arn_key: str,
        wanted: set[str],
        own: set[str],
        inventory: Inventory,
        owner: Any,
        uid: str,
    ) -> dict[str, ObservedResource]:
        """`own`: the listed names with this LLMEndpoint's prefix."""
        names = own | {n for n in wanted if n in listed}
        # A name we acted on after the inventory was taken: ask SageMaker directly.
        recheck = {n for n in wanted if self._stale(place, kind, n, inventory)}
        found: dict[str, ObservedResource] = {}
        for n in sorted(names | recheck):
            if n in recheck:
                response = await self._describe(place, kind, n, None, stale=True, full=True)
                if response is None:
                    continue
                arn, created = str(response[arn_key]), response.get("CreationTime")
            else:
                arn, created = str(listed[n][arn_key]), listed[n].get("CreationTime")
            who: TagOwner = await owner(arn, created, n)
            if n not in wanted and who.uid != uid:
                continue  # an old name of ours only if our uid tag says so
            found[n] = ObservedResource(
                name=n,
                owner_uid=who.uid,
                owner_name=who.name,
                owner_cluster_id=who.cluster_id,
                arn=arn,
                created=_epoch(created),
            )
        return found


def _own(desired: DesiredState) -> TagOwner:
    """This LLMEndpoint as the tags of what it creates name it."""
    owner = desired.owner
    return TagOwner(owner.uid, f"{owner.namespace}/{owner.name}", owner.cluster_id or None)


def _variant_status(variants: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The first variant's newest VariantStatus entry (a deployment's current step)."""
    for variant in variants:
        entries = variant.get("VariantStatus") or []
        if entries:
            latest: Mapping[str, Any] = entries[-1]
            return latest
    return {}


def _listed_at(inventory: ScalingInventory, kind: Kind) -> float:
    """When `inventory` last listed resources of `kind`."""
    return inventory.taken_at if kind is Kind.SCALABLE_TARGET else inventory.policies_at


def _arn_of(arn: str, service: str) -> bool:
    """Whether `arn` names a resource of `service`."""
    parts = arn.split(":")
    return len(parts) > 2 and parts[2] == service


def _rfc3339(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value)


def _epoch(value: Any) -> float | None:
    """A boto3 timestamp as epoch seconds (None when absent)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _status(kind: Kind, summary: Mapping[str, Any]) -> str:
    member = kind.status_member
    return str(summary.get(member, "")) if member else "InService"


def _expiry(at: float, period: float, kind: Kind, name: str) -> float:
    """When a Describe taken at `at` expires: at the resource's first tick at least half
    a period later.

    Each resource's ticks are `period` apart, offset by a stable per-name phase, so
    resources described together expire at different moments, spread evenly over the
    period, and a settled resource costs exactly one Describe per period.
    """
    if period <= 0:
        return at
    phase = (zlib.crc32(f"{kind}/{name}".encode()) % 1024) / 1024 * period
    return float(math.ceil((at + period / 2 + phase) / period) * period - phase)
