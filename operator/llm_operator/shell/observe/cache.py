"""What the observer remembers between passes, shared by every LLMEndpoint of a replica.

The inventories of each scope (refreshed by one caller at a time), the cached
Describe answers (each expiring on its resource's own tick), who each ARN's tags
name, what we changed since the inventory was taken, and the last scaling activity
per target. A fresh inventory drops what it makes useless, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    NAME_TAG,
    NAMESPACE_TAG,
    UID_TAG,
)
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, CLOUDWATCH, SAGEMAKER, Kind
from llm_operator.core.observed import ScalingActivity
from llm_operator.shell.aws import (
    CREATION_RANK,
    INTERACTIVE,
    AwsError,
    Lane,
    SageMaker,
    Scope,
    Where,
    scope,
)
from llm_operator.shell.observe.inventory import (
    Inventories,
    Inventory,
    ScalingInventory,
    take,
    take_scaling,
)

# The counts a scalable target registered by this process was first seen at: not asked
# (nothing scaled it yet), taken as they are.
REGISTERED = object()

# What this process made of these is remembered only until an inventory lists it.
_IMMUTABLE = (Kind.MODEL, Kind.ENDPOINT_CONFIG)

# SageMaker statuses after which nothing changes until someone acts.
STEADY = frozenset({"InService", "Failed", "OutOfService"})


@dataclass(frozen=True)
class TagOwner:
    uid: str | None
    name: str | None  # "namespace/name"
    cluster_id: str | None = None  # the llmoperator.io/cluster-id tag


def tag_owner(tags: Mapping[str, str]) -> TagOwner:
    namespace, name = tags.get(NAMESPACE_TAG), tags.get(NAME_TAG)
    return TagOwner(
        tags.get(UID_TAG),
        f"{namespace}/{name}" if namespace and name else None,
        tags.get(CLUSTER_ID_TAG),
    )


@dataclass(frozen=True)
class _Described:
    response: Mapping[str, Any]
    at: float  # monotonic time of the Describe
    searched: bool = False  # from a Search after a restart, not a Describe


class Cache:
    """The inventories and caches of every scope; all in memory."""

    def __init__(
        self,
        sagemaker: SageMaker,
        *,
        max_age: float,
        describe_max_age: float,
        targets_max_age: float,
        sweep_max_age: float | None = None,
        search: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sagemaker = sagemaker
        self.max_age = max_age
        self.describe_max_age = describe_max_age
        self.targets_max_age = targets_max_age
        # A settled resource whose listed status and LastModifiedTime still match its
        # cached Describe is described again once per this period all the same.
        self.sweep_max_age = describe_max_age if sweep_max_age is None else sweep_max_age
        self.clock = clock
        self._places: dict[Scope, Inventories] = {}
        # `search`: the first inventory of each scope starts with a Search (the operator,
        # which reads the whole fleet back after a restart; not a command reading one).
        self.search = search
        self._searched: set[Scope] = set()
        self._described: dict[tuple[Scope, Kind, str], _Described] = {}
        # (scope, ARN) -> (its creation time, who its tags name): a resource made again
        # under the same name (same ARN) has a new creation time, so it is read again.
        self._owners: dict[tuple[Scope, str], tuple[str, TagOwner]] = {}
        self._touched: dict[tuple[Scope, Kind, str], float] = {}
        # (scope, pool endpoint) -> the (component, status) pairs on it and the copies its
        # LLMEndpoints report at its last Describe: managed instance scaling follows them,
        # so a change means Describe again.
        self.pool_components: dict[tuple[Scope, str], Hashable] = {}
        # (scope, ResourceId) -> ((desired, current) it was asked for, the activity)
        self.activities: dict[tuple[Scope, str], tuple[Any, ScalingActivity | None]] = {}
        # What this process's own Create requests said of an endpoint or inference
        # component (an endpoint config's: its variants, until its endpoint is created):
        # the List entry and this tell what the Describe once it is InService would.
        self._made: dict[tuple[Scope, Kind, str], Mapping[str, Any]] = {}
        # Scalable targets registered and scaling policies put by this process: (when,
        # ResourceId, as a listing shows it), laid over a listing that started before.
        self._written: dict[tuple[Scope, Kind, str], tuple[float, str, Mapping[str, Any]]] = {}

    # -- the inventories ----------------------------------------------------------

    async def inventory(self, where: Where, max_age: float | None = None) -> Inventory:
        """The scope's inventory, refreshed when older than `max_age` (default: the
        observer's). Concurrent callers share one refresh (single flight per scope);
        refreshes always use the interactive lane, since every pass waits for them.
        """
        place = scope(where)
        state = self._places.setdefault(place, Inventories())
        age = self.max_age if max_age is None else max_age
        return await state.sagemaker.get(self.clock(), age, lambda: self._take(place))

    async def scaling_inventory(
        self, where: Where, max_age: float | None = None, policies_max_age: float | None = None
    ) -> ScalingInventory:
        """The region's targets, policies and alarms; refreshed like `inventory`.

        A refresh lists the targets; the policies and alarms only when they are older
        than `policies_max_age` (default: always).
        """
        place = scope(where)
        state = self._places.setdefault(place, Inventories())
        age = self.max_age if max_age is None else max_age

        def refresh() -> Awaitable[ScalingInventory]:
            return self._take_scaling(place, state.scaling.value, policies_max_age)

        return await state.scaling.get(self.clock(), age, refresh)

    def scaling_held(self, place: Scope) -> ScalingInventory | None:
        """The scope's last scaling inventory, however old (None before the first)."""
        held = self._places.get(place)
        return held.scaling.value if held is not None else None

    async def _take(self, place: Scope) -> Inventory:
        # Every pass of the scope waits for it: never behind an LLMEndpoint's creation.
        unranked = CREATION_RANK.set(None)
        try:
            if self.search and place not in self._searched:
                await self._search(place)
            fresh = await take(self.sagemaker, place, self.clock())
        finally:
            CREATION_RANK.reset(unranked)
        self._prune(place, fresh)
        return fresh

    async def _search(self, place: Scope) -> None:
        """The scope's endpoints and models this operator tags, with their tags, 100 to
        a page (SageMaker's Search): after a restart, who each one's tags name and each
        endpoint's Describe, without a ListTags and a DescribeEndpoint apiece. Once per
        scope and process; without it (not granted, not answered) each is read alone."""
        self._searched.add(place)
        at = self.clock()
        ours = {"Name": f"Tags.{MANAGED_BY_TAG}", "Operator": "Equals", "Value": MANAGED_BY}
        managed = {"Filters": [ours]}
        try:
            endpoints, models = await asyncio.gather(
                self.sagemaker.list_all(
                    place, "Search", "Results", Resource="Endpoint", SearchExpression=managed
                ),
                self.sagemaker.list_all(
                    place, "Search", "Results", Resource="Model", SearchExpression=managed
                ),
            )
        except AwsError:
            return
        for result in endpoints:
            endpoint = dict(result.get("Endpoint") or {})
            tags = _tag_map(endpoint.pop("Tags", None))
            if "EndpointArn" not in endpoint or "EndpointName" not in endpoint:
                continue
            owner = (str(endpoint.get("CreationTime")), tag_owner(tags))
            self._owners[(place, str(endpoint["EndpointArn"]))] = owner
            key = (place, Kind.ENDPOINT, str(endpoint["EndpointName"]))
            self._described[key] = _Described(endpoint, at, searched=True)
        for result in models:
            model = dict((result.get("Model") or {}).get("Model") or {})
            if "ModelArn" in model:
                owner = (str(model.get("CreationTime")), tag_owner(_tag_map(model.get("Tags"))))
                self._owners[(place, str(model["ModelArn"]))] = owner

    async def _take_scaling(
        self, place: Scope, previous: ScalingInventory | None, policies_max_age: float | None
    ) -> ScalingInventory:
        fresh, target_arns = await take_scaling(
            self.sagemaker, place, self.clock(), previous, policies_max_age
        )
        written = {}
        for key, (at, resource_id, summary) in self._written.items():
            if key[0] != place:
                written[key] = (at, resource_id, summary)
            elif at >= fresh.listed_at(key[1]):  # the listing may not show it yet
                written[key] = (at, resource_id, summary)
                _overlay(fresh, key[1], key[2], resource_id, summary)
                if key[1] is Kind.SCALABLE_TARGET:
                    target_arns.add(str(summary["ScalableTargetARN"]))
        self._written = written
        self._touched = {
            key: at
            for key, at in self._touched.items()
            if key[0] != place or key[1].service == SAGEMAKER or at >= fresh.listed_at(key[1])
        }
        arns = target_arns | {str(a.get("AlarmArn")) for a in fresh.alarms.values()}
        self._owners = {
            key: owner
            for key, owner in self._owners.items()
            if key[0] != place
            or not (_arn_of(key[1], APPLICATION_AUTOSCALING) or _arn_of(key[1], CLOUDWATCH))
            or key[1] in arns
        }
        self.activities = {
            key: found
            for key, found in self.activities.items()
            if key[0] != place or key[1] in fresh.targets
        }
        return fresh

    def _prune(self, place: Scope, inventory: Inventory) -> None:
        """Drops what a fresh inventory makes useless, so memory stays bounded."""
        listed = inventory.listed()
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
        self._made = {
            key: request
            for key, request in self._made.items()
            if key[0] != place
            or key in self._touched
            or (key[1] not in _IMMUTABLE and key[2] in listed[key[1]])
        }
        self.pool_components = {
            key: shape
            for key, shape in self.pool_components.items()
            if key[0] != place or key[1] in inventory.endpoints
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

    # -- what we changed ----------------------------------------------------------

    def touched(self, where: Where, kind: Kind, name: str) -> None:
        """Records that we changed a resource: older inventories and Describes no longer count."""
        key = (scope(where), kind, name)
        self._touched[key] = self.clock()
        self._described.pop(key, None)
        self._made.pop(key, None)

    def made(
        self,
        where: Where,
        kind: Kind,
        name: str,
        request: Mapping[str, Any],
        answer: Mapping[str, Any],
        created: bool,
    ) -> None:
        """Records what a write of this process set anew (`created`: a create that found
        nothing there) and its `answer`, so what it tells need not be read back.

        An endpoint or inference component is, until the List shows it InService, what
        the request and the List say (Creating, then what its Describe would tell), so
        creating one costs no Describe; an endpoint is known this way only when this
        process also made its endpoint config (the variants come from it). A scalable
        target registered anew, and a scaling policy put, go into the scaling inventory
        as the next listing would show them.
        """
        place = scope(where)
        known = {kind.arn_member: answer.get(kind.arn_member), "CreationTime": datetime.now(UTC)}
        if kind is Kind.MODEL and created:
            self._made[(place, kind, name)] = known
        elif kind is Kind.ENDPOINT_CONFIG and created:
            self._made[(place, kind, name)] = {
                **known,
                "ProductionVariants": request.get("ProductionVariants") or [],
            }
        elif kind is Kind.ENDPOINT and created:
            config = self._made.get(
                (place, Kind.ENDPOINT_CONFIG, str(request.get("EndpointConfigName")))
            )
            if config is not None:
                self._made[(place, kind, name)] = {
                    **known,
                    "EndpointConfigName": request.get("EndpointConfigName"),
                    "ProductionVariants": config["ProductionVariants"],
                }
        elif kind is Kind.INFERENCE_COMPONENT and created:
            self._made[(place, kind, name)] = {
                **known,
                **{k: v for k, v in request.items() if k != "Tags"},
            }
        elif kind in (Kind.SCALABLE_TARGET, Kind.SCALING_POLICY):
            self._registered(place, kind, name, request, answer, created)

    def _registered(
        self,
        place: Scope,
        kind: Kind,
        name: str,
        request: Mapping[str, Any],
        answer: Mapping[str, Any],
        created: bool,
    ) -> None:
        resource_id = str(request.get("ResourceId"))
        if kind is Kind.SCALABLE_TARGET:
            if not created or not answer.get("ScalableTargetARN"):
                return  # an existing target's range changed: read back as before
            summary: Mapping[str, Any] = {
                **{k: v for k, v in request.items() if k != "Tags"},
                "ScalableTargetARN": answer["ScalableTargetARN"],
                "CreationTime": datetime.now(UTC),
            }
            # Nothing has scaled it yet: its first activity is asked for once its
            # copies move.
            self.activities[(place, resource_id)] = (REGISTERED, None)
        elif answer.get("PolicyARN"):
            summary = {
                **request,
                "PolicyARN": answer["PolicyARN"],
                "Alarms": answer.get("Alarms") or [],
            }
        else:
            return
        key = (place, kind, name)
        self._written[key] = (self.clock(), resource_id, summary)
        held = self.scaling_held(place)
        if held is not None:
            _overlay(held, kind, name, resource_id, summary)
            self._touched.pop(key, None)

    def created(self, place: Scope, kind: Kind, name: str) -> Mapping[str, Any] | None:
        """The ARN and creation time of a model or endpoint config this process just
        created (None: not one, or an inventory lists it by now)."""
        made = self._made.get((place, kind, name))
        return made if made is not None and made.get(kind.arn_member) else None

    def retagged(self, where: Where, arns: Collection[str]) -> None:
        """Forgets the owners read for these ARNs: their tags changed (an adoption)."""
        place, changed = scope(where), set(arns)
        self._owners = {
            key: owner
            for key, owner in self._owners.items()
            if key[0] != place or key[1] not in changed
        }

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

    def seen(self, place: Scope, keys: Collection[tuple[Kind, str]]) -> None:
        """What was just Described directly is no longer newer than the inventory."""
        for kind, name in keys:
            self._touched.pop((place, kind, name), None)

    def stale(
        self, place: Scope, kind: Kind, name: str, inventory: Inventory | ScalingInventory
    ) -> bool:
        """Whether we changed the resource after `inventory` listed it."""
        touched = self._touched.get((place, kind, name))
        if touched is None:
            return False
        if isinstance(inventory, ScalingInventory):
            return touched >= inventory.listed_at(kind)
        return touched >= inventory.taken_at

    # -- Describe and ListTags, only when needed ----------------------------------

    async def describe(
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
            self._made.pop((place, kind, name), None)
            return None
        key = (place, kind, name)
        made = self._made.pop(key, None)
        if made is not None and stale and not full and made.get(kind.arn_member):
            # Just created, and no List since: what a Describe would say right now.
            self._made[key] = made
            return _as_described(kind, name, made, {}, "Creating")
        if made is not None and summary is not None and not stale and not full:
            status = _status(kind, summary)
            if status not in STEADY:
                self._made[key] = made  # still what the List and our request say
                return _as_described(kind, name, made, summary, status)
            if status == "InService":
                response = _as_described(kind, name, made, summary, status)
                self._described[key] = _Described(response, self.clock())
                if kind is Kind.INFERENCE_COMPONENT and _placed_anew(None, response):
                    self._described.pop(
                        (place, Kind.ENDPOINT, str(response.get("EndpointName"))), None
                    )
                return response
            # Failed: its Describe says why.
        cached = self._described.get(key)
        now = self.clock()
        if (
            cached is not None
            and summary is not None
            and not stale
            and not full
            and now < _expiry(cached.at, self.sweep_max_age, kind, name)
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
        endpoint = (place, Kind.ENDPOINT, str(response.get("EndpointName")))
        if kind is Kind.INFERENCE_COMPONENT and _placed_anew(
            cached.response if cached is not None else None, response
        ):
            # The instances its endpoint runs may have followed (managed instance
            # scaling), which the endpoint's own LastModifiedTime need not show: the
            # endpoint's cached Describe no longer counts. Unless it was searched after
            # a restart while the component stood still: it shows the instances since.
            searched = self._described.get(endpoint)
            if not (
                cached is None and searched is not None and searched.searched and _still(response)
            ):
                self._described.pop(endpoint, None)
        return response

    async def owner(
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
        found = tag_owner(await self.sagemaker.tags(place, arn, lane=lane, service=service))
        self._owners[key] = (when, found)
        return found


def _tag_map(tags: Any) -> dict[str, str]:
    """A Search result's tag list as a map."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or [] if "Key" in t}


def _overlay(
    inventory: ScalingInventory,
    kind: Kind,
    name: str,
    resource_id: str,
    summary: Mapping[str, Any],
) -> None:
    """Puts a target this process registered, or a policy it put, into `inventory`."""
    if kind is Kind.SCALABLE_TARGET:
        inventory.targets[resource_id] = summary
    else:
        inventory.policies.setdefault(resource_id, {})[name] = summary


def _as_described(
    kind: Kind,
    name: str,
    made: Mapping[str, Any],
    summary: Mapping[str, Any],
    status: str,
) -> dict[str, Any]:
    """What DescribeEndpoint or DescribeInferenceComponent tells of a resource this
    process created with `made` and the List shows as `summary` in `status`: still
    being created, or InService with every instance and copy asked for in place."""
    settled = status == "InService"
    response: dict[str, Any] = {
        kind.arn_member: made.get(kind.arn_member),
        "CreationTime": made.get("CreationTime"),
        **summary,
        kind.name_member: name,
    }
    assert kind.status_member is not None
    response[kind.status_member] = status
    if kind is Kind.ENDPOINT:
        response["EndpointConfigName"] = made["EndpointConfigName"]
        variants = []
        for spec in made["ProductionVariants"]:
            count = int(spec.get("InitialInstanceCount") or 1)
            variant: dict[str, Any] = {
                "VariantName": spec.get("VariantName"),
                "CurrentInstanceCount": count if settled else 0,
                "DesiredInstanceCount": count,
            }
            if spec.get("ServerlessConfig"):
                variant["CurrentServerlessConfig"] = dict(spec["ServerlessConfig"])
                variant["DesiredServerlessConfig"] = dict(spec["ServerlessConfig"])
            if not settled:
                variant["VariantStatus"] = [{"Status": status}]
            variants.append(variant)
        response["ProductionVariants"] = variants
        return response
    response["EndpointName"] = made.get("EndpointName")
    if made.get("VariantName") is not None:
        response["VariantName"] = made["VariantName"]
    response["Specification"] = dict(made.get("Specification") or {})
    copies = (made.get("RuntimeConfig") or {}).get("CopyCount")
    if copies is not None:
        response["RuntimeConfig"] = {
            "DesiredCopyCount": copies,
            "CurrentCopyCount": copies if settled else 0,
        }
    return response


def _arn_of(arn: str, service: str) -> bool:
    """Whether `arn` names a resource of `service`."""
    parts = arn.split(":")
    return len(parts) > 2 and parts[2] == service


def _placed_anew(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """Whether an inference component's copies may need another number of instances
    than when it was last described (`before`; None: never). One copy always fits on
    the instance an endpoint starts with, so a component first seen with one copy
    (every new one, as it starts) changed nothing."""

    def placement(response: Mapping[str, Any]) -> tuple[Any, ...]:
        runtime = response.get("RuntimeConfig") or {}
        spec = response.get("Specification") or {}
        return (
            runtime.get("CurrentCopyCount"),
            runtime.get("DesiredCopyCount"),
            spec.get("ComputeResourceRequirements"),
        )

    if before is None:
        return int((after.get("RuntimeConfig") or {}).get("CurrentCopyCount") or 0) > 1
    return placement(before) != placement(after)


def _still(component: Mapping[str, Any]) -> bool:
    """Whether an inference component is InService with every copy it wants."""
    runtime = component.get("RuntimeConfig") or {}
    return component.get("InferenceComponentStatus") == "InService" and runtime.get(
        "CurrentCopyCount"
    ) == runtime.get("DesiredCopyCount")


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
