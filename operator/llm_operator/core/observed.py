"""What SageMaker reports now for one LLMEndpoint, reduced to what the planner compares.

Filled by the shell (`llm_operator.shell.observe`) from List*/Describe* answers; the
planner never sees boto3 shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ObservedEndpoint:
    name: str
    arn: str
    # Creating | InService | Updating | SystemUpdating | RollingBack | Deleting | Failed | ...
    status: str
    config_name: str
    failure_reason: str | None = None
    current_instances: int | None = None
    desired_instances: int | None = None
    # uid from the llmoperator.io/uid tag; None when not looked up or absent.
    owner_uid: str | None = None
    # "namespace/name" from the llmoperator.io tags, to name a clashing owner in messages.
    owner_name: str | None = None
    # the llmoperator.io/cluster-id tag: which cluster made it (None: untagged).
    owner_cluster_id: str | None = None
    # An update in flight (PendingDeploymentSummary): the config it moves to, and its
    # new fleet's VariantStatus (Creating, ActivatingTraffic, Baking, ...) and message.
    pending_config: str | None = None
    deployment_status: str | None = None
    deployment_message: str | None = None
    # LastModifiedTime (epoch seconds): an update arriving, ending or rolled back moves it.
    last_modified: float | None = None
    # A serverless endpoint's CurrentServerlessConfig (what serves now); None otherwise.
    serverless: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ObservedComponent:
    name: str
    status: str  # Creating | InService | Updating | Failed | Deleting
    endpoint_name: str
    model_name: str | None
    # ComputeResourceRequirements as SageMaker describes them (None for adapters).
    compute: Mapping[str, float] | None
    artifact_url: str | None
    base_component: str | None
    desired_copies: int | None
    current_copies: int | None
    failure_reason: str | None = None
    owner_uid: str | None = None
    owner_name: str | None = None  # "namespace/name" from the ownership tags
    owner_cluster_id: str | None = None
    arn: str = ""  # for AddTags (deletionPolicy Retain); "" when not known
    last_modified: float | None = None  # LastModifiedTime, epoch seconds
    # The Specification's serving members as described (`serving_members`).
    serving: Mapping[str, Any] | None = None


# --- serving members of an inference component's Specification --------------------

# Members the operator sets from spec.resources beyond the model and its compute: the
# instance's model data cache, and how copies are spread over instances and zones.
SERVING_MEMBERS = ("DataCacheConfig", "SchedulingConfig")


def serving_members(specification: Mapping[str, Any]) -> dict[str, Any]:
    """The serving members a Specification sets."""
    return {k: specification[k] for k in SERVING_MEMBERS if specification.get(k) is not None}


def serving_matches(want: Mapping[str, Any], have: Mapping[str, Any] | None) -> bool:
    """Whether a component described with `have` runs the serving members `want` sets.

    Only what is wanted is compared (SageMaker may describe defaults never sent); a
    component described without a data cache has caching off.
    """
    described = {"DataCacheConfig": {"EnableCaching": False}, **(have or {})}
    return all(_within(v, described.get(k)) for k, v in want.items())


def _within(want: Any, have: Any) -> bool:
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(_within(v, have.get(k)) for k, v in want.items())
    return bool(want == have)


@dataclass(frozen=True)
class ObservedResource:
    """A model or endpoint config: immutable, so its name says what it holds."""

    name: str
    owner_uid: str | None = None
    owner_name: str | None = None  # "namespace/name" from the ownership tags
    owner_cluster_id: str | None = None
    arn: str = ""
    created: float | None = None  # CreationTime, epoch seconds


@dataclass(frozen=True)
class ObservedAlarm:
    """A CloudWatch alarm with the name of one of the operator's rollback alarms."""

    name: str
    threshold: float | None
    owner_uid: str | None = None
    owner_name: str | None = None  # "namespace/name" from the ownership tags
    owner_cluster_id: str | None = None
    arn: str = ""


@dataclass(frozen=True)
class ObservedTarget:
    """An Application Auto Scaling scalable target on this LLMEndpoint's component or variant."""

    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int
    owner_uid: str | None = None
    owner_name: str | None = None
    owner_cluster_id: str | None = None
    arn: str = ""


@dataclass(frozen=True)
class ObservedPolicy:
    """A scaling policy on that target; policies carry no tags (ours by name, see naming)."""

    name: str
    arn: str
    policy_type: str  # TargetTrackingScaling | StepScaling
    # Its TargetTrackingScalingPolicyConfiguration or StepScalingPolicyConfiguration.
    configuration: Mapping[str, Any]


@dataclass(frozen=True)
class ObservedScalingAlarm:
    name: str
    actions: tuple[str, ...]
    # Dimensions as {Name: Value}, and the settings the operator sets.
    settings: Mapping[str, Any]
    state: str | None = None
    owner_uid: str | None = None
    owner_name: str | None = None
    owner_cluster_id: str | None = None
    arn: str = ""


@dataclass(frozen=True)
class ScalingActivity:
    description: str
    status: str
    start_time: str | None = None


@dataclass(frozen=True)
class ObservedScaling:
    """spec.autoscaling's resources as Application Auto Scaling and CloudWatch hold them."""

    target: ObservedTarget | None = None
    policies: Mapping[str, ObservedPolicy] = field(default_factory=dict)
    alarm: ObservedScalingAlarm | None = None
    last_activity: ScalingActivity | None = None
    # spec.pool: the target on the base component of the endpoint it had before it
    # moved onto the pool, and its policies, until the move deregisters them.
    former_target: ObservedTarget | None = None
    former_policies: Mapping[str, ObservedPolicy] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedState:
    endpoint: ObservedEndpoint | None = None
    components: Mapping[str, ObservedComponent] = field(default_factory=dict)
    # Models and endpoint configs owned by this LLMEndpoint (found by name prefix).
    models: Mapping[str, ObservedResource] = field(default_factory=dict)
    endpoint_configs: Mapping[str, ObservedResource] = field(default_factory=dict)
    # The operator's rollback alarms by name; looked up only when the spec or the
    # planner's memory has some (see PlanMemory.alarms).
    alarms: Mapping[str, ObservedAlarm] = field(default_factory=dict)
    scaling: ObservedScaling = field(default_factory=ObservedScaling)
    # spec.pool: the LLMEndpoint's own endpoint from before it moved onto the pool
    # (its derived name), found until the move deleted it.
    former: ObservedEndpoint | None = None
