"""LLMEndpointPools, pure: the pool's endpoint and config, its plan, and placement.

A pool owns one SageMaker endpoint and its endpoint config (managed instance
scaling between minCount and maxCount), tagged with the pool's ownership tags.
LLMEndpoints with spec.pool own their models and inference components on it.

Placement is checked before anything is sent: every placed LLMEndpoint counts its
copies at its ceiling (autoscaling maxReplicas, else resources.copies) with the
accelerators, vCPUs and memory of each copy, packed first-fit, in the order they
were admitted, onto maxCount instances of the pool's type, as SageMaker packs
copies. A newcomer is admitted only when its ceiling fits beside the others'
(`place`); the shell serializes admissions per pool, so of several racing for the
last room exactly those that fit are admitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llm_operator.api import catalog
from llm_operator.api.models import ROUTING_STRATEGIES, InstanceSpec, LLMEndpointSpec
from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import naming, validation
from llm_operator.core.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    DeleteEndpoint,
    DeleteEndpointConfig,
    TagEndpoint,
    TagEndpointConfig,
    UpdateEndpoint,
)
from llm_operator.core.compare import COMPONENT_TRANSITIONING, ENDPOINT_DELETABLE
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    RETAINED_TAG,
    DesiredState,
    Owner,
    ownership_tags,
)
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedState,
)
from llm_operator.core.rollout import desired_rollout

# Reasons an LLMEndpoint on a pool is not placed (Degraded).
POOL_FULL = "PoolFull"
POOL_NOT_ALLOWED = "PoolNotAllowed"
POOL_NOT_FOUND = "PoolNotFound"
POOL_MISMATCH = "PoolMismatch"
POOL_DELETING = "PoolDeleting"
# A pool whose deletion waits for the models on it.
POOL_IN_USE = "PoolInUse"
# A pool whose maxCount no longer holds what is placed on it at its ceilings.
POOL_OVERCOMMITTED = "Overcommitted"
# A change of the pool's instance type refused: a placed model would not fit the new type.
POOL_MODELS_DO_NOT_FIT = "ModelsDoNotFit"
# A change of the pool's instance type SageMaker rolled back.
POOL_ROLLED_BACK = "RolledBack"
# status.pool of an LLMEndpoint: its admission record (written under the pool's lock).
PLACEMENT_KEY = "pool"


# Endpoint statuses in which what is placed keeps serving.
ENDPOINT_SERVING = frozenset({"Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})


# -- names --------------------------------------------------------------------------


def pool_key(namespace: str, name: str, cluster: str = "") -> str:
    """The owner-hash key of a pool: it starts with "/", which no LLMEndpoint's key
    ("namespace/name" or "cluster/namespace/name", non-empty parts) does, so a pool
    and an LLMEndpoint of the same namespace and name never derive the same names."""
    return f"/pool/{cluster}/{namespace}/{name}" if cluster else f"/pool/{namespace}/{name}"


def endpoint_name(namespace: str, name: str, cluster: str = "") -> str:
    """The pool's endpoint: `<stem>-<pool hash>`."""
    owner = naming.short_hash(pool_key(namespace, name, cluster), naming.OWNER_HASH_LENGTH)
    return f"{naming.stem(namespace, name)}-{owner}"


# -- what the pool wants --------------------------------------------------------------


@dataclass(frozen=True)
class DesiredPool:
    owner: Owner
    region: str
    endpoint_name: str
    config_name: str
    # CreateEndpointConfig keyword arguments without Tags.
    config_request: Mapping[str, Any]
    instance_type: str
    min_count: int
    max_count: int
    tags: Mapping[str, str] = field(default_factory=dict)
    deleted_at: str | None = None
    # UpdateEndpoint's DeploymentConfig when the instance type changes (spec.rollout).
    deployment: Mapping[str, Any] | None = None
    spec: LLMEndpointPoolSpec | None = None


def render_pool(spec: LLMEndpointPoolSpec, owner: Owner) -> DesiredPool:
    """The pool's endpoint config (managed instance scaling) and endpoint."""
    inst = spec.instance
    variant: dict[str, Any] = {
        "VariantName": naming.variant_name(),
        "InstanceType": inst.type,
        # SageMaker wants at least one to start; managed scaling goes down to minCount.
        "InitialInstanceCount": max(inst.min_count, 1),
        "ManagedInstanceScaling": {
            "Status": "ENABLED",
            "MinInstanceCount": inst.min_count,
            "MaxInstanceCount": inst.max_count,
        },
        "RoutingConfig": {"RoutingStrategy": ROUTING_STRATEGIES[spec.routing.strategy]},
    }
    if inst.inference_ami_version is not None:
        variant["InferenceAmiVersion"] = inst.inference_ami_version
    request: dict[str, Any] = {
        "ProductionVariants": [variant],
        "ExecutionRoleArn": spec.aws.execution_role_arn,
    }
    vpc = spec.aws.vpc
    if vpc is not None:
        request["VpcConfig"] = {
            "SecurityGroupIds": list(vpc.security_group_ids),
            "Subnets": list(vpc.subnets),
        }
    endpoint = endpoint_name(owner.namespace, owner.name, owner.cluster)
    config = naming.immutable_name(endpoint, Kind.ENDPOINT_CONFIG, naming.content_hash(request))
    rollout = desired_rollout(spec.rollout.as_rollout(), "InferenceComponent", 0)
    return DesiredPool(
        deployment=rollout.endpoint_deployment,
        spec=spec,
        owner=owner,
        region=spec.aws.region,
        endpoint_name=endpoint,
        config_name=config,
        config_request={"EndpointConfigName": config, **request},
        instance_type=inst.type,
        min_count=inst.min_count,
        max_count=inst.max_count,
        tags={**spec.aws.tags, **ownership_tags(owner)},
    )


def placed_spec(spec: LLMEndpointSpec, pool: LLMEndpointPoolSpec) -> LLMEndpointSpec:
    """An LLMEndpoint on a pool as rendering sees it: the pool's instance type (for the
    image, the catalog and the checks that depend on the hardware)."""
    instance = InstanceSpec(
        type=pool.instance.type,
        count=max(pool.instance.min_count, 1),
        min_count=pool.instance.min_count,
        max_count=pool.instance.max_count,
    )
    return spec.model_copy(update={"instance": instance})


# -- the pool's plan ----------------------------------------------------------------


@dataclass(frozen=True)
class PoolObserved:
    """What SageMaker holds for one pool."""

    endpoint: ObservedEndpoint | None
    # The pool's endpoint configs (found by its endpoint name's prefix).
    configs: Mapping[str, ObservedResource]
    # Every inference component on the pool's endpoint, whoever owns it.
    components: Mapping[str, ObservedComponent]
    # The instance type of the config the endpoint serves, when it is not the desired
    # one (read from SageMaker: a crash loses nothing).
    serving_instance_type: str | None = None


@dataclass(frozen=True)
class PoolRollout:
    """A change of the pool's instance type: where it stands."""

    phase: str  # InProgress | Baking | RolledBack | Refused
    from_type: str
    to_type: str
    target: str
    message: str
    step: str | None = None


@dataclass(frozen=True)
class Tenant:
    """An LLMEndpoint placed on the pool: its spec (None: invalid) and admission."""

    namespace: str
    name: str
    spec: LLMEndpointSpec | None
    demand: Demand | None

    @property
    def who(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PoolPlan:
    actions: tuple[Action, ...]
    phase: str
    ready: bool
    reason: str
    message: str
    degraded: bool = False
    settled: bool = False
    done_deleting: bool = False
    rollout: PoolRollout | None = None


def _ours(owner: Owner, uid: str | None) -> bool:
    return uid == owner.uid


def _conflict(kind: str, name: str, found: ObservedEndpoint | ObservedResource) -> str:
    whose = (
        f"belongs to {found.owner_name}"
        if found.owner_name
        else "is not tagged for this LLMEndpointPool"
    )
    return f"SageMaker {kind} {name} {whose}; the operator leaves it alone"


def plan_pool(
    want: DesiredPool,
    seen: PoolObserved,
    tenants: Sequence[Tenant] = (),
    rolled_back: str | None = None,
) -> PoolPlan:
    """Create the config and endpoint, move the endpoint to a new config; nothing else:
    the models are the LLMEndpoints'. A new instance type is tried only when every model
    placed on the pool (`tenants`) fits it; else nothing is sent. `rolled_back`: the
    endpoint config whose change of instance type status recorded as rolled back (not
    tried again even once SageMaker's FailureReason is gone)."""
    ep = seen.endpoint
    config = seen.configs.get(want.config_name)
    if config is not None and not _ours(want.owner, config.owner_uid):
        msg = _conflict("endpoint config", want.config_name, config)
        return PoolPlan((), "Failed", False, "NameConflict", msg, degraded=True)
    if ep is not None and not _ours(want.owner, ep.owner_uid):
        msg = _conflict("endpoint", ep.name, ep)
        return PoolPlan((), "Failed", False, "NameConflict", msg, degraded=True)
    old_type = _changing_type(want, seen)
    if ep is not None and old_type is not None and want.spec is not None:
        refusal = type_change_refusal(want.spec, old_type, tenants)
        if refusal is not None:
            ready = ep.status == "InService"
            rollout = PoolRollout(
                "Refused", old_type, want.instance_type, want.config_name, refusal
            )
            phase = "InService" if ready else ep.status
            return PoolPlan(
                (), phase, ready, POOL_MODELS_DO_NOT_FIT, refusal, degraded=True, rollout=rollout
            )
    actions: list[Action] = []
    if config is None:
        actions.append(
            CreateEndpointConfig(name=want.config_name, spec=want.config_request, tags=want.tags)
        )
    if ep is None:
        actions.append(
            CreateEndpoint(name=want.endpoint_name, config_name=want.config_name, tags=want.tags)
        )
        return PoolPlan(tuple(actions), "Creating", False, "Creating", "Creating the endpoint")
    if ep.status == "Failed":
        why = ep.failure_reason or "no reason given"
        msg = f"SageMaker endpoint {ep.name} failed: {why}"
        return PoolPlan(tuple(actions), "Failed", False, "EndpointFailed", msg, degraded=True)
    if ep.status != "InService":
        msg = f"Waiting for endpoint {ep.name} to leave {ep.status}"
        rolling = _rolling(want, seen, ep, old_type)
        if rolling is not None:
            # The placed models keep serving on the old instances meanwhile.
            return PoolPlan(
                tuple(actions), "Updating", True, "RollingOut", rolling.message, rollout=rolling
            )
        if ep.status in ENDPOINT_SERVING:
            return PoolPlan(tuple(actions), "Updating", True, ep.status, msg)
        return PoolPlan(tuple(actions), "Creating", False, ep.status, msg)
    if ep.config_name != want.config_name:
        return _update(want, seen, ep, actions, old_type, rolled_back == want.config_name)
    if not actions:
        for name, found in sorted(seen.configs.items()):
            if name != want.config_name and _ours(want.owner, found.owner_uid):
                actions.append(DeleteEndpointConfig(name=name))
    msg = f"Endpoint {ep.name} is InService"
    return PoolPlan(tuple(actions), "InService", True, "InService", msg, settled=not actions)


def _update(
    want: DesiredPool,
    seen: PoolObserved,
    ep: ObservedEndpoint,
    actions: list[Action],
    old_type: str | None,
    remembered: bool = False,
) -> PoolPlan:
    """Move the endpoint to the desired config. minCount, maxCount, routing, ...: the
    instances and the components on them carry over. A new instance type: a rolling
    deployment (spec.rollout) brings up new instances in batches, SageMaker redeploys
    the components' copies onto them and the old ones go, each batch baked. Not while a
    component moves, and never again after SageMaker refused or rolled back that config
    (no hot loop): SageMaker's own record says so (LastModifiedTime after the config was
    created, with a FailureReason), so a restart changes nothing."""
    config = seen.configs.get(want.config_name)
    tried = (
        config is not None
        and config.created is not None
        and ep.last_modified is not None
        and ep.last_modified > config.created
        and ep.failure_reason is not None
    )
    if (tried or remembered) and old_type is not None:
        why = ep.failure_reason or "rolled back before (the pool's status.rollout)"
        msg = (
            f"SageMaker rolled back endpoint {ep.name} from {want.instance_type} to "
            f"{old_type}: {why}; the models keep serving on {old_type}, and "
            f"{want.instance_type} is not tried again until spec.instance changes"
        )
        rollout = PoolRollout(POOL_ROLLED_BACK, old_type, want.instance_type, want.config_name, msg)
        return PoolPlan(
            tuple(actions), "InService", True, POOL_ROLLED_BACK, msg, degraded=True, rollout=rollout
        )
    if tried:
        msg = (
            f"SageMaker did not move endpoint {ep.name} to endpoint config {want.config_name}: "
            f"{ep.failure_reason}; it keeps serving on {ep.config_name}"
        )
        return PoolPlan(tuple(actions), "InService", True, "UpdateFailed", msg, degraded=True)
    busy = sorted(c.name for c in seen.components.values() if c.status in COMPONENT_TRANSITIONING)
    if busy:
        msg = f"Waiting for inference components {', '.join(busy)} before updating the endpoint"
        return PoolPlan(tuple(actions), "InService", True, "Updating", msg)
    if old_type is None:
        actions.append(UpdateEndpoint(name=ep.name, config_name=want.config_name))
        msg = f"Updating endpoint {ep.name} to endpoint config {want.config_name}"
        return PoolPlan(tuple(actions), "Updating", True, "Updating", msg)
    actions.append(
        UpdateEndpoint(name=ep.name, config_name=want.config_name, deployment=want.deployment)
    )
    msg = (
        f"Rolling endpoint {ep.name} from {old_type} to {want.instance_type} "
        f"(endpoint config {want.config_name}); the models keep serving"
    )
    rollout = PoolRollout(
        "InProgress", old_type, want.instance_type, want.config_name, msg, step="Starting"
    )
    return PoolPlan(tuple(actions), "Updating", True, "RollingOut", msg, rollout=rollout)


def _changing_type(want: DesiredPool, seen: PoolObserved) -> str | None:
    """The instance type the endpoint serves when the desired config changes it."""
    ep = seen.endpoint
    old = seen.serving_instance_type
    if ep is None or ep.config_name == want.config_name or old in (None, want.instance_type):
        return None
    return old


def _rolling(
    want: DesiredPool, seen: PoolObserved, ep: ObservedEndpoint, old_type: str | None
) -> PoolRollout | None:
    """A change of instance type SageMaker is rolling out now, and its step."""
    if old_type is None or ep.pending_config != want.config_name:
        return None
    if ep.status == "RollingBack":
        step = "RollingBack"
        message = f"Rolling back: {ep.failure_reason or 'no reason given'}"
    else:
        step = ep.deployment_status or ep.status
        message = ep.deployment_message or f"Endpoint {ep.name} is {ep.status}"
    phase = "Baking" if ep.deployment_status == "Baking" else "InProgress"
    return PoolRollout(
        phase,
        old_type,
        want.instance_type,
        want.config_name,
        f"{old_type} -> {want.instance_type}: {message}",
        step=step,
    )


# Problems of a placed model on the new instance type that refuse the change.
_HARDWARE_REASONS = frozenset(
    {
        "CopyTooLarge",
        "UnknownInstanceType",
        "ImageRequired",
        "UnknownRegion",
    }
)


def _hardware(kind: catalog.InstanceType) -> str:
    if kind.accelerators <= 0:
        return "CPU"
    return "Neuron" if kind.accelerator_kind == "neuron" else "GPU"


def type_change_refusal(
    pool: LLMEndpointPoolSpec, old_type: str, tenants: Sequence[Tenant]
) -> str | None:
    """Why the pool cannot move from `old_type` to spec.instance.type with these models
    placed on it, or None when every one fits the new type at its ceiling."""
    new_type, max_count = pool.instance.type, pool.instance.max_count
    new = catalog.instance_type(new_type)
    if new is None:
        return f"instance type {new_type} is not in the operator's catalog"
    old = catalog.instance_type(old_type)
    found: list[str] = []
    if old is not None and tenants and _hardware(old) != _hardware(new):
        found.append(
            f"{', '.join(t.who for t in tenants)} run {_hardware(old)} engine images on "
            f"{old_type}, which cannot run on {new_type} ({_hardware(new)}): SageMaker moves "
            "the placed components as they are"
        )
    for tenant in tenants:
        if tenant.spec is None:
            continue
        placed = placed_spec(tenant.spec, pool)
        for problem in validation.errors(validation.validate(placed)):
            if problem.reason in _HARDWARE_REASONS:
                found.append(f"{tenant.who}: {problem.message}")
        tp = tenant.spec.model.tensor_parallel_degree
        if tp is not None and tp > new.accelerators:
            found.append(
                f"{tenant.who}: model.tensorParallelDegree {tp} needs {tp} accelerators per "
                f"copy, {new_type} has {new.accelerators}"
            )
    demands = [t.demand for t in tenants if t.demand is not None]
    short = _pack(new_type, max_count, demands)
    if short is not None:
        per = _copies_per_instance(short, new)
        cap = capacity(new_type, max_count, demands)
        found.append(
            f"{short.who}: {short.copies} copies x {short.accelerators} accelerators, "
            f"{short.cpus:g} vCPUs, {short.memory_mib} MiB (at its ceiling) do not all fit "
            f"beside the models admitted before it on {max_count} x {new_type} "
            f"({new.accelerators} accelerators, {new.vcpus} vCPUs, {new.memory_gib * 1024} MiB "
            f"each; one holds {per} such copies); the models placed need "
            f"{cap.accelerators_ceiling} of {cap.accelerators_total} accelerators, "
            f"{cap.cpus_ceiling:g} of {cap.cpus_total:g} vCPUs, {cap.memory_mib_ceiling} of "
            f"{cap.memory_mib_total} MiB"
        )
    if not found:
        return None
    return (
        f"instance.type {new_type} is not rolled out (nothing was sent; the pool keeps "
        f"serving on {old_type}): " + "; ".join(found) + ". Raise spec.instance.maxCount, "
        "pick a larger type, or lower those models' copies, autoscaling maximum or "
        "per-copy resources"
    )


def _copies_per_instance(d: Demand, kind: catalog.InstanceType) -> int:
    limits = []
    if d.accelerators > 0:
        limits.append(kind.accelerators // d.accelerators)
    if d.cpus > 0:
        limits.append(int(kind.vcpus // d.cpus))
    if d.memory_mib > 0:
        limits.append(kind.memory_gib * 1024 // d.memory_mib)
    return max(0, min(limits)) if limits else 0


def hosted(seen: PoolObserved) -> list[str]:
    """Who has components on the pool's endpoint: "namespace/name" (or the component's
    name when it carries no ownership tags), sorted."""
    return sorted({c.owner_name or c.name for c in seen.components.values()})


def plan_pool_deletion(want: DesiredPool, seen: PoolObserved, *, retain: bool) -> PoolPlan:
    """Delete the endpoint and its configs once nothing is placed on it; never a
    component: those belong to the LLMEndpoints, which delete their own."""
    ep = seen.endpoint
    if ep is not None and not _ours(want.owner, ep.owner_uid):
        ep = None  # not the pool's: left alone
    configs = [c for c in seen.configs.values() if _ours(want.owner, c.owner_uid)]
    if retain:
        tags = {MANAGED_BY_TAG: MANAGED_BY, RETAINED_TAG: want.deleted_at or "true"}
        if want.owner.cluster_id:
            tags[CLUSTER_ID_TAG] = want.owner.cluster_id
        actions: list[Action] = []
        if ep is not None:
            actions.append(
                TagEndpoint(name=ep.name, arn=ep.arn, tags=tags, owner_uid=want.owner.uid)
            )
        actions += [
            TagEndpointConfig(name=c.name, arn=c.arn, tags=tags, owner_uid=want.owner.uid)
            for c in sorted(configs, key=lambda c: c.name)
            if c.arn
        ]
        return PoolPlan(
            tuple(actions), "Deleting", False, "Retained", "Retained", done_deleting=True
        )
    users = hosted(seen) if ep is not None else []
    if users:
        msg = (
            f"the pool still hosts {len(users)} model(s): {', '.join(users)}; delete those "
            "LLMEndpoints first (the pool never deletes their inference components)"
        )
        return PoolPlan((), "Deleting", False, POOL_IN_USE, msg, degraded=True)
    if ep is not None:
        if ep.status in ENDPOINT_DELETABLE:
            return PoolPlan(
                (DeleteEndpoint(name=ep.name),), "Deleting", False, "Deleting", "Deleting"
            )
        msg = f"Waiting for endpoint {ep.name} to leave {ep.status}"
        return PoolPlan((), "Deleting", False, "Deleting", msg)
    deletes: tuple[Action, ...] = tuple(
        DeleteEndpointConfig(name=c.name) for c in sorted(configs, key=lambda c: c.name)
    )
    return PoolPlan(deletes, "Deleting", False, "Deleting", "Deleted", done_deleting=not deletes)


# -- placement ---------------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    """One LLMEndpoint's copies at its ceiling, and what each copy needs."""

    namespace: str
    name: str
    copies: int  # at the ceiling: autoscaling maxReplicas, else resources.copies
    accelerators: int
    cpus: float
    memory_mib: int

    @property
    def who(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_record(self) -> dict[str, Any]:
        return {
            "admitted": True,
            "copies": self.copies,
            "acceleratorsPerCopy": self.accelerators,
            "cpusPerCopy": self.cpus,
            "memoryMiBPerCopy": self.memory_mib,
        }


def demand_of(namespace: str, name: str, spec: LLMEndpointSpec) -> Demand:
    res = spec.effective_resources
    ceiling = spec.autoscaling.max_replicas if spec.autoscaling is not None else res.copies
    return Demand(
        namespace,
        name,
        max(ceiling, res.copies),
        res.accelerators_per_copy,
        float(res.cpus_per_copy),
        res.memory_mib_per_copy,
    )


def admitted_demand(obj: Mapping[str, Any]) -> Demand | None:
    """What an LLMEndpoint was admitted with (status.pool), None when it was not."""
    meta = obj.get("metadata") or {}
    record = (obj.get("status") or {}).get(PLACEMENT_KEY) or {}
    if not record.get("admitted"):
        return None
    try:
        return Demand(
            str(meta.get("namespace")),
            str(meta.get("name")),
            int(record.get("copies", 0)),
            int(record.get("acceleratorsPerCopy", 0)),
            float(record.get("cpusPerCopy", 0)),
            int(record.get("memoryMiBPerCopy", 0)),
        )
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Capacity:
    accelerators_total: int
    cpus_total: float
    memory_mib_total: int
    accelerators_ceiling: int
    cpus_ceiling: float
    memory_mib_ceiling: int


def capacity(instance_type: str, max_count: int, demands: Sequence[Demand]) -> Capacity:
    kind = catalog.instance_type(instance_type)
    acc, cpus, mem = (
        (kind.accelerators, float(kind.vcpus), kind.memory_gib * 1024) if kind else (0, 0.0, 0)
    )
    return Capacity(
        accelerators_total=acc * max_count,
        cpus_total=cpus * max_count,
        memory_mib_total=mem * max_count,
        accelerators_ceiling=sum(d.copies * d.accelerators for d in demands),
        cpus_ceiling=sum(d.copies * d.cpus for d in demands),
        memory_mib_ceiling=sum(d.copies * d.memory_mib for d in demands),
    )


def _pack(instance_type: str, max_count: int, demands: Sequence[Demand]) -> Demand | None:
    """First-fit of every copy, in order, onto max_count instances; the first demand
    whose copies do not all fit, None when all do."""
    kind = catalog.instance_type(instance_type)
    if kind is None:
        return demands[0] if demands else None
    room = [[float(kind.accelerators), float(kind.vcpus), float(kind.memory_gib * 1024)]]
    room = [list(room[0]) for _ in range(max_count)]
    for d in demands:
        need = (float(d.accelerators), d.cpus, float(d.memory_mib))
        for _ in range(d.copies):
            spot = next(
                (r for r in room if all(n <= free + 1e-9 for n, free in zip(need, r, strict=True))),
                None,
            )
            if spot is None:
                return d
            for i, n in enumerate(need):
                spot[i] -= n
    return None


def overcommitted(instance_type: str, max_count: int, demands: Sequence[Demand]) -> str | None:
    """Why the models placed on a pool no longer fit its maxCount instances at their
    ceilings (after maxCount was lowered, say), or None when they do: what is placed
    stays, but a scale-out may find no room, so the pool says so."""
    short = _pack(instance_type, max_count, demands)
    if short is None:
        return None
    return (
        f"the models placed on it need more than {max_count} x {instance_type} at their "
        f"ceilings ({short.who}'s {short.copies} copies do not all fit); raise "
        "spec.instance.maxCount, or lower a model's copies or autoscaling maximum"
    )


@dataclass(frozen=True)
class Placement:
    admitted: bool
    reason: str = ""
    message: str = ""


def place(
    *,
    pool_namespace: str,
    pool_name: str,
    pool: LLMEndpointPoolSpec,
    newcomer: Demand,
    others: Sequence[Demand],
) -> Placement:
    """May `newcomer` be placed beside `others` (admitted before it, in that order)?"""
    where = f"LLMEndpointPool {pool_namespace}/{pool_name}"
    if not pool.allows(pool_namespace, newcomer.namespace):
        allowed = [pool_namespace, *pool.allowed_namespaces]
        return Placement(
            False,
            POOL_NOT_ALLOWED,
            f"{where} does not allow namespace {newcomer.namespace} (allowed: "
            f"{', '.join(allowed)}); ask its owner to add it to spec.allowedNamespaces",
        )
    others = [o for o in others if o.who != newcomer.who]
    inst = pool.instance
    if _pack(inst.type, inst.max_count, [*others, newcomer]) is None:
        return Placement(True)
    cap = capacity(inst.type, inst.max_count, others)
    users = ", ".join(f"{o.who} ({o.copies} x {o.accelerators})" for o in others) or "none"
    return Placement(
        False,
        POOL_FULL,
        f"{where} has no room for {newcomer.copies} copies x {newcomer.accelerators} "
        f"accelerators, {newcomer.cpus:g} vCPUs, {newcomer.memory_mib} MiB each (at the "
        f"autoscaling maximum): {cap.accelerators_total - cap.accelerators_ceiling} of "
        f"{cap.accelerators_total} accelerators, "
        f"{cap.cpus_total - cap.cpus_ceiling:g} of {cap.cpus_total:g} vCPUs and "
        f"{cap.memory_mib_total - cap.memory_mib_ceiling} of {cap.memory_mib_total} MiB "
        f"are left on {inst.max_count} {inst.type} (maxCount); placed: {users}. "
        "Nothing was sent to SageMaker; it is placed once room is made",
    )


# -- cost ------------------------------------------------------------------------


def pool_cost(instance_type: str, instances: int | None) -> Decimal | None:
    return catalog.hourly_cost(instance_type, instances or 0)


def share_of_pool(want: DesiredState, observed: ObservedState) -> str | None:
    """An LLMEndpoint's share of its pool's cost now: the copies its base component
    runs x accelerators per copy, at the pool's price per accelerator."""
    kind = catalog.instance_type(want.endpoint_config.instance_type)
    if not want.components or kind is None or kind.accelerators <= 0:
        return None
    base = observed.components.get(want.components[0].name)
    compute = want.components[0].specification.get("ComputeResourceRequirements") or {}
    accelerators = int(compute.get("NumberOfAcceleratorDevicesRequired", 0))
    copies = (base.current_copies or 0) if base is not None else 0
    cost = share(catalog.hourly_cost(kind.name, 1), copies * accelerators, kind.accelerators)
    return catalog.format_usd(cost)


def cost_while_moving(
    share_usd: str | None, former_type: str | None, former_instances: int | None
) -> str | None:
    """What an LLMEndpoint moving onto a pool costs now: its share of the pool plus the
    instances of its former endpoint, which run (and are billed) until the move ends."""
    former = catalog.hourly_cost(former_type, former_instances or 0) if former_type else None
    if former is None:
        return share_usd
    return catalog.format_usd(former + (Decimal(share_usd) if share_usd else Decimal(0)))


def share(
    pool_cost_usd: Decimal | None, accelerators: int, pool_accelerators: int
) -> Decimal | None:
    """An LLMEndpoint's share of its pool's cost: its accelerators over the pool's in use."""
    if pool_cost_usd is None or pool_accelerators <= 0:
        return None
    return (pool_cost_usd * accelerators / pool_accelerators).quantize(Decimal("0.01"))
