"""The List inventories of one scope (account and region), and how they are taken.

SageMaker's inventory (paginated ListEndpoints / ListInferenceComponents / ListModels
/ ListEndpointConfigs) is indexed when it is taken (components by endpoint, models
and configs by owner prefix), so a pass costs the same with ten or ten thousand
resources. The scaling inventory (DescribeScalableTargets, DescribeScalingPolicies
for the sagemaker namespace, DescribeAlarms) lists the targets on every refresh and
the policies and alarms only when they are older than the caller accepts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from llm_operator.core import naming
from llm_operator.core.actions import SERVICE_NAMESPACE
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, CLOUDWATCH, Kind
from llm_operator.shell.aws import SageMaker, Scope


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

    def listed(self) -> dict[Kind, dict[str, Mapping[str, Any]]]:
        """The summaries of each kind this inventory lists."""
        return {
            Kind.ENDPOINT: self.endpoints,
            Kind.INFERENCE_COMPONENT: self.components,
            Kind.MODEL: self.models,
            Kind.ENDPOINT_CONFIG: self.endpoint_configs,
        }


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

    def listed_at(self, kind: Kind) -> float:
        """When this inventory last listed resources of `kind`."""
        return self.taken_at if kind is Kind.SCALABLE_TARGET else self.policies_at


class _Timed(Protocol):
    taken_at: float


_T = TypeVar("_T", bound=_Timed)


class SingleFlight(Generic[_T]):
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


class Inventories:
    """Both inventories of one scope, each refreshed by one caller at a time."""

    def __init__(self) -> None:
        self.sagemaker: SingleFlight[Inventory] = SingleFlight()
        self.scaling: SingleFlight[ScalingInventory] = SingleFlight()


async def take(aws: SageMaker, place: Scope, taken_at: float) -> Inventory:
    """SageMaker's inventory of `place`: its four List calls, paged, side by side."""
    fresh = Inventory(taken_at=taken_at)
    endpoints, components, models, configs = await asyncio.gather(
        aws.list_all(place, "ListEndpoints", "Endpoints"),
        aws.list_all(place, "ListInferenceComponents", "InferenceComponents"),
        aws.list_all(place, "ListModels", "Models"),
        aws.list_all(place, "ListEndpointConfigs", "EndpointConfigs"),
    )
    fresh.endpoints = {str(e["EndpointName"]): e for e in endpoints}
    fresh.components = {str(c["InferenceComponentName"]): c for c in components}
    fresh.models = {str(m["ModelName"]): m for m in models}
    fresh.endpoint_configs = {str(c["EndpointConfigName"]): c for c in configs}
    fresh.index()
    return fresh


async def take_scaling(
    aws: SageMaker,
    place: Scope,
    now: float,
    previous: ScalingInventory | None,
    policies_max_age: float | None,
) -> tuple[ScalingInventory, set[str]]:
    """The scaling inventory of `place`, and the ARN of every target listed (several
    targets may share a ResourceId).

    The policies and alarms are kept from `previous` while younger than
    `policies_max_age` (None: always listed again).
    """
    fresh = ScalingInventory(taken_at=now, policies_at=now)
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
    return fresh, {str(t.get("ScalableTargetARN")) for t in targets}
