"""The LLMEndpointPool API: one SageMaker endpoint's instances, shared by many models.

A namespaced kind (short name `llmpool`). The pool owns the endpoint and its
endpoint config (managed instance scaling between `instance.minCount` and
`maxCount`); LLMEndpoints with `spec.pool` place their model on it as inference
components they own. `allowedNamespaces` says whose LLMEndpoints may (empty: the
pool's own namespace only). The CRD in `crds/llmendpointpools.yaml` is generated
from these models, CEL rules included, as the LLMEndpoint's is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from llm_operator.api import catalog
from llm_operator.api.models import (
    DEFAULT_MAX_BATCH_PERCENT,
    MAX_ROLLBACK_ALARMS,
    MSG_MIN_MAX,
    AwsSpec,
    Condition,
    DeletionPolicy,
    InferenceAmiVersion,
    RolloutSpec,
    _families_regex,
    _Spec,
    _Status,
    cel,
    msg_instance_family,
    rules,
)

POOL_KIND = "LLMEndpointPool"
POOL_PLURAL = "llmendpointpools"
POOL_SINGULAR = "llmendpointpool"
POOL_SHORT_NAMES = ("llmpool",)

NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
RoutingStrategy = Literal["LeastOutstandingRequests", "Random"]


class PoolInstanceSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(cel("self.minCount <= self.maxCount", MSG_MIN_MAX)),
    )

    type: str = Field(
        description=(
            "SageMaker instance type of every instance of the pool, e.g. ml.g5.12xlarge. A "
            "change rolls out (spec.rollout) once every placed model fits the new type."
        ),
        max_length=64,
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        json_schema_extra=rules(
            cel(f"self.matches('^ml\\\\.({_families_regex()})\\\\.')", msg_instance_family()),
        ),
    )
    min_count: int = Field(
        1,
        description="Fewest instances managed instance scaling keeps (0: none when idle).",
        ge=0,
        le=1000,
    )
    max_count: int = Field(
        description=(
            "Most instances managed instance scaling may run: what the operator places the "
            "models' copies against."
        ),
        ge=1,
        le=1000,
    )
    inference_ami_version: InferenceAmiVersion | None = Field(
        None, description="SageMaker's InferenceAmiVersion of the production variant."
    )

    @model_validator(mode="after")
    def _check(self) -> PoolInstanceSpec:
        if self.min_count > self.max_count:
            raise ValueError(MSG_MIN_MAX)
        if catalog.family_of(self.type) not in catalog.families():
            raise ValueError(msg_instance_family())
        return self


class PoolRoutingSpec(_Spec):
    strategy: RoutingStrategy = Field(
        "LeastOutstandingRequests",
        description="How SageMaker routes requests among copies: LeastOutstandingRequests, Random.",
    )


MSG_POOL_ROLLOUT_TIMEOUT = (
    "rollout.timeoutSeconds must be larger than rollout.waitSeconds: every batch bakes "
    "waitSeconds and SageMaker rolls back a rollout still running at the timeout"
)


class PoolRolloutSpec(_Spec):
    """How an instance type change replaces the pool's instances (SageMaker's rolling
    deployment of an endpoint hosting inference components)."""

    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "!has(self.timeoutSeconds) || self.waitSeconds < self.timeoutSeconds",
                MSG_POOL_ROLLOUT_TIMEOUT,
            )
        )
    )

    max_batch_percent: int = Field(
        DEFAULT_MAX_BATCH_PERCENT,
        description="Share of the instances replaced per batch (5-50). Default 25.",
        ge=5,
        le=50,
    )
    wait_seconds: int = Field(
        600,
        description="Bake time after each batch, while the rollback alarms are watched (0-3600).",
        ge=0,
        le=3600,
    )
    timeout_seconds: int | None = Field(
        None,
        description=(
            "MaximumExecutionTimeoutInSeconds (600-28800): a rollout still running then is "
            "rolled back. Unset: SageMaker's default."
        ),
        ge=600,
        le=28800,
    )
    rollback_alarms: list[str] = Field(
        default_factory=list,
        description=(
            f"Existing CloudWatch alarms (at most {MAX_ROLLBACK_ALARMS}); one in ALARM during "
            "a bake rolls the change back."
        ),
        max_length=MAX_ROLLBACK_ALARMS,
        json_schema_extra={
            "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S.*$"},
            "x-kubernetes-list-type": "set",
        },
    )

    @model_validator(mode="after")
    def _check(self) -> PoolRolloutSpec:
        if self.timeout_seconds is not None and self.wait_seconds >= self.timeout_seconds:
            raise ValueError(MSG_POOL_ROLLOUT_TIMEOUT)
        return self

    def as_rollout(self) -> RolloutSpec:
        """The same request as an LLMEndpoint's Rolling spec.rollout."""
        return RolloutSpec(
            strategy="Rolling",
            max_batch_percent=self.max_batch_percent,
            wait_seconds=self.wait_seconds,
            timeout_seconds=self.timeout_seconds,
            rollback_alarms=list(self.rollback_alarms),
        )


class LLMEndpointPoolSpec(_Spec):
    instance: PoolInstanceSpec = Field(description="The endpoint's instances.")
    aws: AwsSpec = Field(description="Where and as whom the pool's endpoint runs.")
    routing: PoolRoutingSpec = Field(
        default_factory=PoolRoutingSpec, description="Request routing among copies."
    )
    rollout: PoolRolloutSpec = Field(
        default_factory=PoolRolloutSpec,
        description=(
            "How a change of instance.type rolls out: instances replaced in batches, each "
            "batch baked, the placed models' copies kept serving."
        ),
    )
    allowed_namespaces: list[str] = Field(
        default_factory=list,
        description=(
            "Namespaces whose LLMEndpoints may place models on this pool, besides its "
            "own. Empty: its own namespace only."
        ),
        max_length=256,
        json_schema_extra={
            "items": {"type": "string", "maxLength": 63, "pattern": NAMESPACE_PATTERN}
        },
    )
    deletion_policy: DeletionPolicy = Field(
        "Delete",
        description=(
            "Delete (default): remove the endpoint and its config with the pool, once no "
            "model is placed on it. Retain: leave them running."
        ),
    )

    def allows(self, pool_namespace: str, namespace: str) -> bool:
        return namespace == pool_namespace or namespace in self.allowed_namespaces


class PoolCounts(_Status):
    current: int | None = Field(None, description="Instances running now.")
    desired: int | None = Field(None, description="Instances SageMaker wants now.")


class PoolCapacity(_Status):
    accelerators_used: int = Field(0, description="Accelerators the placed copies use now.")
    accelerators_ceiling: int = Field(
        0, description="Accelerators the models use at their autoscaling maximum."
    )
    accelerators_total: int = Field(0, description="Accelerators of maxCount instances.")
    cpus_ceiling: float = Field(0, description="vCPUs the models use at their maximum.")
    cpus_total: float = Field(0, description="vCPUs of maxCount instances.")
    memory_mib_ceiling: int = Field(0, description="Memory (MiB) at the models' maximum.")
    memory_mib_total: int = Field(0, description="Memory (MiB) of maxCount instances.")


class PoolModel(_Status):
    namespace: str = Field(description="The LLMEndpoint's namespace.")
    name: str = Field(description="The LLMEndpoint's name.")
    copies: int | None = Field(None, description="Its base component's current copies.")
    max_copies: int = Field(0, description="Copies at its autoscaling maximum.")
    accelerators_per_copy: int = Field(0, description="Accelerators per copy.")


class PoolBudgetStatus(_Status):
    admitted: bool = Field(
        False, description="Counted against the namespace's budget at ceilingCostPerHourUSD."
    )
    ceiling_cost_per_hour_usd: str | None = Field(
        None,
        alias="ceilingCostPerHourUSD",
        description="On-demand USD per hour of maxCount instances, as admitted.",
    )
    budget_left: list[str] = Field(
        default_factory=list,
        description="Per budget, what was left in the namespace once this pool was admitted.",
    )
    price_date: str | None = Field(None, description="Date of the catalog's prices.")


class PoolRolloutStatus(_Status):
    phase: str | None = Field(
        None, description="InProgress, Baking, Succeeded, RolledBack or Refused."
    )
    step: str | None = Field(None, description="SageMaker's step of the new instances.")
    message: str | None = Field(None, description="What happens now, or how it ended.")
    from_instance_type: str | None = Field(None, description="The instance type it replaces.")
    to_instance_type: str | None = Field(None, description="The instance type it rolls out.")
    target: str | None = Field(None, description="The endpoint config it moves to.")
    start_time: str | None = Field(None, description="When it started.")
    end_time: str | None = Field(None, description="When it ended.")


class LLMEndpointPoolStatus(_Status):
    phase: str | None = Field(None, description="Pending, Creating, InService, Failed, Deleting.")
    observed_generation: int | None = Field(None, description="metadata.generation acted on.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Degraded.")
    endpoint_name: str | None = Field(None, description="The pool's SageMaker endpoint.")
    endpoint_config_name: str | None = Field(None, description="Its endpoint config.")
    sagemaker_status: str | None = Field(None, description="SageMaker's EndpointStatus.")
    instances: PoolCounts | None = Field(None, description="Instances, current and desired.")
    instances_summary: str | None = Field(None, description="current/max instances.")
    capacity: PoolCapacity | None = Field(None, description="What the placed models use.")
    models: list[PoolModel] = Field(
        default_factory=list, description="The LLMEndpoints placed on the pool."
    )
    models_count: int | None = Field(None, description="How many LLMEndpoints are placed.")
    cost_per_hour_usd: str | None = Field(
        None,
        alias="costPerHourUSD",
        description="On-demand USD per hour of the instances running now.",
    )
    failure_reason: str | None = Field(None, description="SageMaker's FailureReason, if any.")
    instance_type: str | None = Field(
        None,
        description=(
            "The instance type the endpoint runs now: what the placed models are rendered "
            "and admitted against (spec.instance.type once a change of it rolled out)."
        ),
    )
    rollout: PoolRolloutStatus | None = Field(
        None, description="The last change of instance type: how it rolls out, or how it ended."
    )
    policy: PoolBudgetStatus | None = Field(
        None,
        description=(
            "Its admission against its namespace's LLMEndpointPolicy budgets, at its ceiling "
            "(instance type x maxCount)."
        ),
    )
