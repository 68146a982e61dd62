"""LLMEndpointPools in the shell: reading a pool for its LLMEndpoints, admitting them
(placement, serialized per pool), and one pass of a pool itself.

Placement is serialized per pool as budgets are per namespace (`shell.governance`):
under the pool's lock the LLMEndpoints placed on it are listed, their admitted
ceilings packed (`core.pools.place`) and, when the newcomer fits, its admission is
written to its status (`status.pool`) before the lock is released, so the next
one's count includes it. Only one operator replica reconciles at a time (kopf
peering), so an in-process lock is the serialization needed.

A pool's pass first looks at its endpoint, configs and the components on the
endpoint in the replica's shared inventory (the List calls every LLMEndpoint's pass
already makes, as old as a resync), with the cached Describe and ownership tags
(read once per ARN and creation time): a settled pool costs next to no calls of its
own, so a model on a pool costs what a standalone one does. Whenever that look finds
anything to do or anything moving, and always while deleting, the pass reads them
straight from SageMaker and plans again on that, then runs the actions through the
guarded executor, as an LLMEndpoint's pass does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from llm_operator.api import catalog
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import identity, pools
from llm_operator.core.desired import UID_TAG, Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedComponent, ObservedEndpoint, ObservedResource
from llm_operator.core.render import PoolFacts
from llm_operator.shell.aws import AwsError, SageMaker, Scope
from llm_operator.shell.execute import execute
from llm_operator.shell.observe.cache import Cache, TagOwner
from llm_operator.shell.observe.reading import epoch

log = logging.getLogger("llm_operator")

WriteRecord = Callable[[dict[str, Any]], Awaitable[bool]]


class PoolSource(Protocol):
    """What reading pools needs from the API server."""

    async def read_pool(self, namespace: str, name: str) -> Mapping[str, Any] | None: ...

    async def namespace_annotations(self, namespace: str) -> Mapping[str, str]: ...


def parse_pool(obj: Mapping[str, Any] | None) -> LLMEndpointPoolSpec | None:
    if obj is None:
        return None
    try:
        return LLMEndpointPoolSpec.model_validate(obj.get("spec") or {})
    except ValidationError:
        return None


async def pool_facts(
    reads: Any,
    namespace: str,
    name: str,
    *,
    cluster: str,
    namespace_roles: Mapping[str, str],
) -> PoolFacts:
    """The pool as an LLMEndpoint on it renders with (spec None: not found/invalid)."""
    read = getattr(reads, "read_pool", None)
    obj = await read(namespace, name) if read is not None else None
    spec = parse_pool(obj)
    if obj is None or spec is None:
        return PoolFacts(namespace, name, cluster=cluster)
    who: identity.Identity | None
    try:
        annotations = await reads.namespace_annotations(namespace)
        who = identity.resolve(namespace, annotations, namespace_roles, spec.aws.role_arn)
    except identity.IdentityError:
        who = None
    meta = obj.get("metadata") or {}
    uid = str(meta.get("uid") or "")
    runs = (obj.get("status") or {}).get("instanceType")
    if isinstance(runs, str) and runs and runs != spec.instance.type:
        # A change of the pool's instance type not rolled out (yet, or refused): its
        # models render and are admitted against what the endpoint runs.
        instance = spec.instance.model_copy(update={"type": runs})
        spec = spec.model_copy(update={"instance": instance})
    return PoolFacts(
        namespace,
        name,
        uid,
        spec,
        cluster=cluster,
        identity=who,
        deleting=bool(meta.get("deletionTimestamp")),
    )


# -- placement -------------------------------------------------------------------------


def is_placed_on(obj: Mapping[str, Any], namespace: str, name: str) -> bool:
    """Whether the LLMEndpoint `obj` (not being deleted) names the pool namespace/name."""
    meta = obj.get("metadata") or {}
    ref = (obj.get("spec") or {}).get("pool") or {}
    return (
        not meta.get("deletionTimestamp")
        and ref.get("name") == name
        and (ref.get("namespace") or meta.get("namespace")) == namespace
    )


async def placed_on(reads: Any, pool: PoolFacts) -> list[Mapping[str, Any]]:
    """The LLMEndpoints whose spec.pool names `pool`, from the namespaces it allows
    (only there can one be placed): the operator needs no cluster-wide list."""
    lister = getattr(reads, "list_llmendpoints", None)
    if lister is None or pool.spec is None:
        return []
    found: list[Mapping[str, Any]] = []
    for namespace in sorted({pool.namespace, *pool.spec.allowed_namespaces}):
        found += [o for o in await lister(namespace) if is_placed_on(o, pool.namespace, pool.name)]
    return found


def tenants_of(placed: Sequence[Mapping[str, Any]]) -> list[pools.Tenant]:
    """The LLMEndpoints placed on a pool as a change of its instance type checks them."""
    found = []
    for obj in placed:
        meta = obj.get("metadata") or {}
        if pools.admitted_demand(obj) is None:
            continue  # waiting for room: placed on whatever type the pool has then
        try:
            spec: LLMEndpointSpec | None = LLMEndpointSpec.model_validate(obj.get("spec") or {})
        except ValidationError:
            spec = None
        found.append(
            pools.Tenant(
                str(meta.get("namespace")),
                str(meta.get("name")),
                spec,
                pools.admitted_demand(obj),
            )
        )
    return found


def copies_of(placed: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """The copies each placed LLMEndpoint's status reports: when they move, managed
    instance scaling moves the pool's instances."""
    found = []
    for obj in placed:
        meta = obj.get("metadata") or {}
        copies = ((obj.get("status") or {}).get("copies") or {}).get("current")
        found.append((f"{meta.get('namespace')}/{meta.get('name')}", copies))
    return tuple(sorted(found))


class Placements:
    """The per-pool admission locks, and who waits for room on each pool."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        # LLMEndpoints refused for want of room, by pool: woken when room is made.
        self.waiting: dict[tuple[str, str], set[str]] = {}
        # Pools where an LLMEndpoint lowered its ceiling since the waiting were woken.
        self.shrunk: set[tuple[str, str]] = set()

    def to_wake(self) -> set[str]:
        """Who waits on a pool where room was made (and forget that room was made)."""
        woken: set[str] = set()
        for key in self.shrunk:
            woken |= self.waiting.get(key, set())
        self.shrunk.clear()
        return woken

    async def admit(
        self,
        *,
        pool: PoolFacts,
        namespace: str,
        name: str,
        uid: str,
        spec: LLMEndpointSpec,
        status: Mapping[str, Any],
        list_all: Callable[[], Awaitable[Sequence[Mapping[str, Any]]]],
        write: WriteRecord,
    ) -> pools.Placement:
        """Admit this LLMEndpoint onto `pool` (already admitted at this ceiling or more:
        nothing to count), else count it under the pool's lock."""
        assert pool.spec is not None
        key = (pool.namespace, pool.name)
        want = pools.demand_of(namespace, name, spec)
        record = dict(status.get(pools.PLACEMENT_KEY) or {})
        had = pools.admitted_demand(
            {"metadata": {"namespace": namespace, "name": name}, "status": {"pool": record}}
        )
        same = record.get("pool") == f"{pool.namespace}/{pool.name}"
        if had is not None and same and _covers(had, want):
            if had != want:
                # A lower ceiling only makes room: recorded without the lock, then the
                # LLMEndpoints waiting for room on this pool try again.
                await write({**record, **want.to_record()})
                self.shrunk.add(key)
            return pools.Placement(True)
        if pool.deleting and not (had is not None and same):
            return pools.Placement(
                False,
                pools.POOL_DELETING,
                f"LLMEndpointPool {pool.namespace}/{pool.name} is being deleted: nothing new "
                "is placed on it",
            )
        async with self._locks.setdefault(key, asyncio.Lock()):
            found = await list_all()
            others = sorted(
                (
                    (str((o.get("status") or {}).get("pool", {}).get("admittedAt", "")), d)
                    for o in found
                    if is_placed_on(o, *key)
                    and (o.get("metadata") or {}).get("uid") != uid
                    and (d := pools.admitted_demand(o)) is not None
                ),
                key=lambda pair: pair[0],
            )
            answer = pools.place(
                pool_namespace=pool.namespace,
                pool_name=pool.name,
                pool=pool.spec,
                newcomer=want,
                others=[d for _, d in others],
            )
            if not answer.admitted:
                self.waiting.setdefault(key, set()).add(uid)
                return answer
            fresh = {
                **want.to_record(),
                "pool": f"{pool.namespace}/{pool.name}",
                "admittedAt": record.get("admittedAt") or _now(),
            }
            if not await write(fresh):
                return pools.Placement(False, pools.POOL_FULL, "the LLMEndpoint is gone")
        self.waiting.get(key, set()).discard(uid)
        return answer

    def room_made(self, namespace: str, name: str) -> set[str]:
        return set(self.waiting.get((namespace, name), ()))


def _covers(had: pools.Demand, want: pools.Demand) -> bool:
    return (
        had.copies >= want.copies
        and had.accelerators >= want.accelerators
        and had.cpus >= want.cpus
        and had.memory_mib >= want.memory_mib
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- a pool's own pass --------------------------------------------------------------


_NOBODY = TagOwner(None, None)


async def glance_pool(
    cache: Cache,
    place: Scope,
    want: pools.DesiredPool,
    copies: Hashable = None,
    max_age: float | None = None,
) -> pools.PoolObserved | None:
    """The pool from the shared inventory, cached Describe and cached owners; None when
    its endpoint is not listed there or was changed after the inventory was taken.

    The endpoint is Described again whenever the components on it (or their statuses,
    or `copies`: the copies the placed LLMEndpoints' statuses report) changed since its
    last Describe: managed instance scaling follows them, and the pool's instances and
    cost are read from that Describe. `max_age`: the oldest inventory accepted; the
    LLMEndpoints' settled passes accept one resync, and a pool asking for less would
    list the whole scope again between their refreshes."""
    inventory = await cache.inventory(place, max_age)
    name = want.endpoint_name
    summary = inventory.endpoints.get(name)
    if summary is None or cache.stale(place, Kind.ENDPOINT, name, inventory):
        return None
    on = inventory.components_on.get(name, set())
    shape = (
        tuple(
            sorted(
                (c, str(inventory.components[c].get("InferenceComponentStatus", ""))) for c in on
            )
        ),
        copies,
    )
    moved = cache.pool_components.get((place, name)) != shape
    ep = await cache.describe(
        place, Kind.ENDPOINT, name, summary, stale=moved, full=False, listed_at=inventory.taken_at
    )
    cache.pool_components[(place, name)] = shape
    if ep is None:
        return None
    arn = str(ep["EndpointArn"])
    owner = await cache.owner(place, arn, ep.get("CreationTime"), False, _NOBODY)
    variants = ep.get("ProductionVariants") or [{}]
    endpoint = ObservedEndpoint(
        name=name,
        arn=arn,
        status=str(ep.get("EndpointStatus", "")),
        config_name=str(ep.get("EndpointConfigName", "")),
        failure_reason=ep.get("FailureReason") or None,
        current_instances=variants[0].get("CurrentInstanceCount"),
        desired_instances=variants[0].get("DesiredInstanceCount"),
        owner_uid=owner.uid,
        owner_name=owner.name,
        last_modified=epoch(ep.get("LastModifiedTime")),
    )
    configs: dict[str, ObservedResource] = {}
    for config in sorted(inventory.configs_of.get(name, set())):
        item = inventory.endpoint_configs[config]
        if not config.startswith(f"{name}-c"):
            continue
        arn = str(item["EndpointConfigArn"])
        created = item.get("CreationTime")
        owner = await cache.owner(place, arn, created, False, _NOBODY)
        configs[config] = ObservedResource(
            config, owner.uid, owner_name=owner.name, arn=arn, created=epoch(created)
        )
    components: dict[str, ObservedComponent] = {}
    for component in sorted(inventory.components_on.get(name, set())):
        item = inventory.components[component]
        arn = str(item["InferenceComponentArn"])
        owner = await cache.owner(place, arn, item.get("CreationTime"), False, _NOBODY)
        components[component] = _component(name, component, item, owner.uid, owner.name, arn)
    return pools.PoolObserved(endpoint, configs, components)


def _component(
    endpoint: str,
    name: str,
    item: Mapping[str, Any],
    uid: str | None,
    owner_name: str | None,
    arn: str,
) -> ObservedComponent:
    return ObservedComponent(
        name=name,
        status=str(item.get("InferenceComponentStatus", "")),
        endpoint_name=endpoint,
        model_name=None,
        compute=None,
        artifact_url=None,
        base_component=None,
        desired_copies=None,
        current_copies=None,
        owner_uid=uid,
        owner_name=owner_name,
        arn=arn,
    )


async def observe_pool(aws: SageMaker, place: Scope, want: pools.DesiredPool) -> pools.PoolObserved:
    """The pool's endpoint, its configs (by its name's prefix) and every component on the
    endpoint, with their owners' tags read now."""
    endpoint: ObservedEndpoint | None = None
    try:
        ep = await aws.call(place, "DescribeEndpoint", {"EndpointName": want.endpoint_name})
    except AwsError as error:
        if error.kind != "not_found":
            raise
        ep = None
    serving_type: str | None = None
    if ep is not None:
        tags = await aws.tags(place, str(ep["EndpointArn"]))
        variants = ep.get("ProductionVariants") or [{}]
        pending = ep.get("PendingDeploymentSummary") or {}
        stage = _variant_status(pending.get("ProductionVariants") or variants)
        endpoint = ObservedEndpoint(
            name=str(ep["EndpointName"]),
            arn=str(ep["EndpointArn"]),
            status=str(ep.get("EndpointStatus", "")),
            config_name=str(ep.get("EndpointConfigName", "")),
            failure_reason=ep.get("FailureReason") or None,
            current_instances=variants[0].get("CurrentInstanceCount"),
            desired_instances=variants[0].get("DesiredInstanceCount"),
            owner_uid=tags.get(UID_TAG),
            owner_name=_owner_name(tags),
            pending_config=pending.get("EndpointConfigName") or None,
            deployment_status=stage.get("Status"),
            deployment_message=stage.get("StatusMessage"),
            last_modified=epoch(ep.get("LastModifiedTime")),
        )
        if endpoint.config_name and endpoint.config_name != want.config_name:
            serving_type = await _instance_type_of(aws, place, endpoint.config_name)
    configs: dict[str, ObservedResource] = {}
    for item in await aws.list_all(
        place, "ListEndpointConfigs", "EndpointConfigs", NameContains=want.endpoint_name
    ):
        name = str(item["EndpointConfigName"])
        if not name.startswith(f"{want.endpoint_name}-c"):
            continue
        arn = str(item["EndpointConfigArn"])
        tags = await aws.tags(place, arn)
        configs[name] = ObservedResource(
            name,
            tags.get(UID_TAG),
            owner_name=_owner_name(tags),
            arn=arn,
            created=epoch(item.get("CreationTime")),
        )
    components: dict[str, ObservedComponent] = {}
    if endpoint is not None:
        for item in await aws.list_all(
            place,
            "ListInferenceComponents",
            "InferenceComponents",
            EndpointNameEquals=want.endpoint_name,
        ):
            arn = str(item["InferenceComponentArn"])
            tags = await aws.tags(place, arn)
            name = str(item["InferenceComponentName"])
            components[name] = _component(
                want.endpoint_name, name, item, tags.get(UID_TAG), _owner_name(tags), arn
            )
    return pools.PoolObserved(endpoint, configs, components, serving_type)


async def _instance_type_of(aws: SageMaker, place: Scope, config: str) -> str | None:
    """The instance type of the config the endpoint serves (SageMaker's record)."""
    try:
        found = await aws.call(place, "DescribeEndpointConfig", {"EndpointConfigName": config})
    except AwsError as error:
        if error.kind != "not_found":
            raise
        return None
    variants = found.get("ProductionVariants") or [{}]
    kind = variants[0].get("InstanceType")
    return str(kind) if kind else None


def _variant_status(variants: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The first variant's newest VariantStatus entry (a deployment's current step)."""
    for variant in variants:
        entries = variant.get("VariantStatus") or []
        if entries:
            latest: Mapping[str, Any] = entries[-1]
            return latest
    return {}


def _owner_name(tags: Mapping[str, str]) -> str | None:
    ns, name = tags.get("llmoperator.io/namespace"), tags.get("llmoperator.io/name")
    return f"{ns}/{name}" if ns and name else None


async def pool_pass(
    aws: SageMaker,
    place: Scope,
    want: pools.DesiredPool,
    *,
    deleting: bool,
    retain: bool,
    event: Callable[[str, str, str], None],
    cache: Cache | None = None,
    tenants: Sequence[pools.Tenant] = (),
    copies: Hashable = None,
    rolled_back: str | None = None,
    max_age: float | None = None,
) -> tuple[pools.PoolPlan, pools.PoolObserved]:
    """Observe, plan and act once; stops at the first failed action (reported).

    `cache`: the replica's shared observer cache; a settled pool is judged from it.
    `tenants`: the LLMEndpoints placed on it, which a new instance type must fit;
    `copies`: what their statuses say they run (a change: the endpoint is read again);
    `rolled_back`: the config status recorded a rolled-back change of instance type to;
    `max_age`: the oldest shared inventory a glance accepts (anything but a settled
    pool with nothing to do is observed afresh, so drift is still caught)."""
    await aws.prepare(place)
    if cache is not None and not deleting:
        glanced = await glance_pool(cache, place, want, copies, max_age)
        if glanced is not None:
            plan = pools.plan_pool(want, glanced, tenants, rolled_back)
            if plan.settled and not plan.actions:
                return plan, glanced
    seen = await observe_pool(aws, place, want)
    if deleting:
        plan = pools.plan_pool_deletion(want, seen, retain=retain)
    else:
        plan = pools.plan_pool(want, seen, tenants, rolled_back)
    for action in plan.actions:
        try:
            outcome = await execute(aws, place, action)
        except AwsError as error:
            event(
                "Warning",
                f"{action.operation}Failed",
                f"{action.describe()} failed: {error.message}",
            )
            raise
        finally:
            if cache is not None:  # older inventories and Describes no longer count
                cache.touched(place, action.kind, action.name)
        event("Normal", action.operation, outcome.describe())
    return plan, seen


def serving_type(
    want: pools.DesiredPool, seen: pools.PoolObserved, previous: Mapping[str, Any]
) -> str:
    """The instance type the pool's endpoint runs now: the desired one once the endpoint
    is on the desired config (or not created yet)."""
    ep = seen.endpoint
    if ep is None or ep.config_name == want.config_name:
        return want.instance_type
    return seen.serving_instance_type or str(previous.get("instanceType") or want.instance_type)


def rollout_status(
    want: pools.DesiredPool,
    plan: pools.PoolPlan,
    seen: pools.PoolObserved,
    previous: Mapping[str, Any],
    now: str,
) -> dict[str, Any] | None:
    """status.rollout: the change of instance type under way, refused or rolled back; once
    the endpoint serves its target, Succeeded (kept until the next change)."""
    was: Mapping[str, Any] = previous.get("rollout") or {}
    current = plan.rollout
    if current is not None:
        same = was.get("target") == current.target and was.get("phase") not in (
            None,
            "Succeeded",
        )
        return {
            "phase": current.phase,
            "step": current.step,
            "message": current.message,
            "fromInstanceType": current.from_type,
            "toInstanceType": current.to_type,
            "target": current.target,
            "startTime": (was.get("startTime") if same else None) or now,
            "endTime": (
                (was.get("endTime") if same else None) or now
                if current.phase in ("RolledBack", "Refused")
                else None
            ),
        }
    ep = seen.endpoint
    if (
        was
        and was.get("phase") in ("InProgress", "Baking")
        and ep is not None
        and ep.status == "InService"
        and ep.config_name == was.get("target")
    ):
        return {
            **was,
            "phase": "Succeeded",
            "step": None,
            "message": (
                f"Endpoint {ep.name} runs on {was.get('toInstanceType')}; the models moved with it"
            ),
            "endTime": now,
        }
    # The last one that succeeded stays; one refused or rolled back is over once the
    # plan no longer reports it (the spec changed).
    return dict(was) if was.get("phase") == "Succeeded" else None


def pool_status(
    want: pools.DesiredPool,
    plan: pools.PoolPlan,
    seen: pools.PoolObserved,
    placed: Sequence[Mapping[str, Any]],
    generation: int,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """status of an LLMEndpointPool: its endpoint, capacity, models and cost, and a change
    of its instance type (`previous`: the status before this pass)."""
    previous = previous or {}
    ep = seen.endpoint
    runs = serving_type(want, seen, previous)
    demands = [d for o in placed if (d := pools.admitted_demand(o)) is not None]
    cap = pools.capacity(runs, want.max_count, demands)
    over = pools.overcommitted(runs, want.max_count, demands)
    degraded, reason, message = plan.degraded, plan.reason, plan.message
    if over is not None and not degraded and not deleting(plan):
        degraded, reason, message = True, pools.POOL_OVERCOMMITTED, over
    current = ep.current_instances if ep is not None else None
    cost = pools.pool_cost(runs, current)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    models = []
    used = 0
    for obj in placed:
        meta = obj.get("metadata") or {}
        copies = ((obj.get("status") or {}).get("copies") or {}).get("current")
        d = pools.admitted_demand(obj)
        used += (copies or 0) * (d.accelerators if d else 0)
        models.append(
            {
                "namespace": meta.get("namespace"),
                "name": meta.get("name"),
                "copies": copies,
                "maxCopies": d.copies if d else 0,
                "acceleratorsPerCopy": d.accelerators if d else 0,
            }
        )
    return {
        "phase": plan.phase,
        "observedGeneration": generation,
        "endpointName": want.endpoint_name,
        "endpointConfigName": want.config_name,
        "sagemakerStatus": ep.status if ep is not None else None,
        "instances": {"current": current, "desired": ep.desired_instances if ep else None},
        "instancesSummary": f"{current or 0}/{want.max_count}",
        "capacity": {
            "acceleratorsUsed": used,
            "acceleratorsCeiling": cap.accelerators_ceiling,
            "acceleratorsTotal": cap.accelerators_total,
            "cpusCeiling": cap.cpus_ceiling,
            "cpusTotal": cap.cpus_total,
            "memoryMibCeiling": cap.memory_mib_ceiling,
            "memoryMibTotal": cap.memory_mib_total,
        },
        "models": models,
        "modelsCount": len(models),
        "costPerHourUSD": catalog.format_usd(cost),
        "failureReason": ep.failure_reason if ep is not None else None,
        "instanceType": runs,
        "rollout": rollout_status(want, plan, seen, previous, now),
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if plan.ready else "False",
                "reason": plan.reason,
                "message": plan.message,
                "lastTransitionTime": now,
            },
            {
                "type": "Degraded",
                "status": "True" if degraded else "False",
                "reason": reason if degraded else "AsExpected",
                "message": message if degraded else "",
                "lastTransitionTime": now,
            },
        ],
    }


def deleting(plan: pools.PoolPlan) -> bool:
    return plan.phase == "Deleting"


def owner_of(meta: Mapping[str, Any], cluster: str, cluster_id: str) -> Owner:
    return Owner(
        namespace=str(meta["namespace"]),
        name=str(meta["name"]),
        uid=str(meta["uid"]),
        cluster=cluster,
        cluster_id=cluster_id,
    )
