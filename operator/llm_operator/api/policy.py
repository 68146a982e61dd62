"""The LLMEndpointPolicy API: what a cluster admin allows, fills in and budgets per namespace.

A cluster-scoped kind (short name `llmpol`). Its `namespaceSelector` picks the
namespaces it governs; `defaults` and `enforcedTags` are applied by the
operator's render (never written into the tenant's spec), `limits` are refused
at apply by the chart's ValidatingAdmissionPolicy and checked again by the
operator, `budget` is enforced by the operator at reconcile. The CRD in
`crds/llmendpointpolicies.yaml` is generated from these models, CEL rules
included, as the LLMEndpoint's is.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from llm_operator.api.engines import Engine
from llm_operator.api.models import (
    MAX_USER_TAGS,
    MSG_TAG_CHARS,
    MSG_TAGS_RESERVED,
    OWNED_TAG_PREFIX,
    TAG_PATTERN,
    DeletionPolicy,
    RolloutSpec,
    VpcSpec,
    _Spec,
    _Status,
    _tag_text,
    cel,
    rules,
)
from llm_operator.api.regions import sagemaker_regions

POLICY_KIND = "LLMEndpointPolicy"
POLICY_PLURAL = "llmendpointpolicies"
POLICY_SINGULAR = "llmendpointpolicy"
POLICY_SHORT_NAMES = ("llmpol",)

# Instance type globs: ml.g5.*, ml.g6.12xlarge, *; `*` any run of characters, `?` one.
GLOB_PATTERN = r"^[a-z0-9.*?]+$"
USD_PATTERN = r"^[0-9]{1,7}([.][0-9]{1,2})?$"
SelectorOperator = Literal["In", "NotIn", "Exists", "DoesNotExist"]

MSG_GLOB = (
    "limits.allowedInstanceTypes entries are globs of lowercase letters, digits, '.', '*' "
    "and '?' (e.g. ml.g5.*); brackets, braces and other characters are not globs here"
)
MSG_USD = (
    "budget.maxCostPerHourUSD must be a non-negative amount in USD with at most two "
    'decimals, as a string (e.g. "60.00")'
)
MSG_REGION_LIMIT = "limits.allowedRegions entries must be regions where SageMaker is available"
MSG_SELECTOR_VALUES = (
    "namespaceSelector.matchExpressions: In and NotIn need values; Exists and DoesNotExist "
    "take none"
)


# The same rules as spec.aws.tags of an LLMEndpoint.
_TAG_SCHEMA = {
    "additionalProperties": {"type": "string", "maxLength": 256},
    **rules(
        cel(
            "self.all(k, !k.startsWith('llmoperator.io/') && !k.startsWith('aws:'))",
            MSG_TAGS_RESERVED,
        ),
        cel(
            f"self.all(k, size(k) >= 1 && size(k) <= 128 && k.matches('{TAG_PATTERN}')"
            f" && self[k].matches('{TAG_PATTERN}'))",
            MSG_TAG_CHARS,
        ),
    ),
}


def glob_regex(glob: str) -> str:
    """The anchored regular expression of an instance type glob (the same in CEL)."""
    return "^" + re.escape(glob).replace(r"\*", ".*").replace(r"\?", ".") + "$"


class SelectorRequirement(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
                MSG_SELECTOR_VALUES,
            )
        )
    )

    key: str = Field(description="Namespace label key.", min_length=1, max_length=317)
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[str] = Field(
        default_factory=list,
        description="Label values for In and NotIn.",
        max_length=64,
        json_schema_extra={"items": {"type": "string", "maxLength": 63}},
    )

    @model_validator(mode="after")
    def _check(self) -> SelectorRequirement:
        if (self.operator in ("In", "NotIn")) != bool(self.values):
            raise ValueError(MSG_SELECTOR_VALUES)
        return self


class NamespaceSelector(_Spec):
    match_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels a governed namespace carries, all of them.",
        json_schema_extra={"additionalProperties": {"type": "string", "maxLength": 63}},
    )
    match_expressions: list[SelectorRequirement] = Field(
        default_factory=list, description="Label requirements, all of them.", max_length=16
    )


class PolicyAwsDefaults(_Spec):
    vpc: VpcSpec | None = Field(None, description="spec.aws.vpc for LLMEndpoints that set none.")
    tags: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Tags added to spec.aws.tags where the tenant did not set the key (the tenant's "
            "value wins; use enforcedTags for tags a tenant cannot change)."
        ),
        max_length=MAX_USER_TAGS,
        json_schema_extra=_TAG_SCHEMA,
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        return _check_tags(tags)


class PolicyDefaults(_Spec):
    aws: PolicyAwsDefaults | None = Field(
        None,
        description=(
            "aws.vpc and aws.tags defaults. aws.region and aws.executionRoleArn stay the "
            "tenant's to set (the LLMEndpoint CRD requires them)."
        ),
    )
    engine: Engine | None = Field(
        None,
        description=(
            "model.engine for new LLMEndpoints that name none (an existing one keeps the "
            "engine it runs)."
        ),
    )
    rollout: RolloutSpec | None = Field(
        None, description="spec.rollout, whole, for LLMEndpoints that set none."
    )
    deletion_policy: DeletionPolicy | None = Field(
        None, description="spec.deletionPolicy for LLMEndpoints that set none."
    )


class PolicyLimits(_Spec):
    allowed_regions: list[str] | None = Field(
        None,
        description="aws.region must be one of these. Unset: any region.",
        max_length=64,
        json_schema_extra={
            "items": {"type": "string", "maxLength": 32},
            **rules(
                cel(
                    "self.all(r, r in [" + ", ".join(f"'{r}'" for r in sagemaker_regions()) + "])",
                    MSG_REGION_LIMIT,
                )
            ),
        },
    )
    allowed_instance_types: list[str] | None = Field(
        None,
        description=(
            "instance.type must match one of these globs (ml.g5.*, ml.g6.12xlarge). "
            "Unset: any type."
        ),
        max_length=64,
        json_schema_extra={
            "items": {"type": "string", "maxLength": 64},
            **rules(cel(f"self.all(g, g.matches('{GLOB_PATTERN}'))", MSG_GLOB)),
        },
    )
    allowed_engines: list[Engine] | None = Field(
        None,
        description="model.engine (as it runs) must be one of these. Unset: any engine.",
        max_length=8,
    )
    max_instances_per_endpoint: int | None = Field(
        None,
        description=(
            "Most instances one LLMEndpoint may run: instance.count and instance.maxCount, "
            "and autoscaling.maxReplicas of endpointType Model."
        ),
        ge=1,
        le=1000,
    )
    max_copies_per_endpoint: int | None = Field(
        None,
        description=(
            "Most model copies one LLMEndpoint may run: resources.copies and "
            "autoscaling.maxReplicas of endpointType InferenceComponent."
        ),
        ge=0,
        le=1000,
    )
    require_autoscaling: bool = Field(False, description="spec.autoscaling must be set.")
    require_rollback_alarms: bool = Field(
        False,
        description="spec.rollout must set autoRollback or rollbackAlarms.",
    )
    allow_adoption: bool = Field(
        False,
        description=(
            "The annotation llmoperator.io/adopt-endpoint is honoured only where every "
            "governing policy allows it."
        ),
    )

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, regions: list[str] | None) -> list[str] | None:
        if regions is not None and any(r not in sagemaker_regions() for r in regions):
            raise ValueError(MSG_REGION_LIMIT)
        return regions

    @field_validator("allowed_instance_types")
    @classmethod
    def _globs(cls, globs: list[str] | None) -> list[str] | None:
        if globs is not None and any(not re.fullmatch(GLOB_PATTERN, g) for g in globs):
            raise ValueError(MSG_GLOB)
        return globs


class PolicyBudget(_Spec):
    max_endpoints: int | None = Field(
        None, description="Most LLMEndpoints per governed namespace.", ge=0, le=100000
    )
    max_cost_per_hour_usd: str | None = Field(
        None,
        alias="maxCostPerHourUSD",
        description=(
            "Most on-demand USD per hour per governed namespace, counting each LLMEndpoint "
            "at its ceiling (instance.maxCount, or autoscaling.maxReplicas of a Model "
            "endpoint), at the operator's instance catalog prices."
        ),
        max_length=11,
        json_schema_extra=rules(cel(f"self.matches('{USD_PATTERN}')", MSG_USD)),
    )

    @field_validator("max_cost_per_hour_usd")
    @classmethod
    def _usd(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(USD_PATTERN, value):
            raise ValueError(MSG_USD)
        return value

    @property
    def max_cost(self) -> Decimal | None:
        return None if self.max_cost_per_hour_usd is None else Decimal(self.max_cost_per_hour_usd)


class LLMEndpointPolicySpec(_Spec):
    namespace_selector: NamespaceSelector = Field(
        description=(
            "The namespaces this policy governs, by their labels ({} governs every namespace)."
        )
    )
    defaults: PolicyDefaults | None = Field(
        None,
        description=(
            "Filled into an LLMEndpoint's spec where the tenant left it empty, by the "
            "operator's render (the stored spec never changes; status.policy shows the "
            "effective values and which policy set them)."
        ),
    )
    enforced_tags: dict[str, str] = Field(
        default_factory=dict,
        description="Tags on every SageMaker resource; they win over the tenant's aws.tags.",
        max_length=MAX_USER_TAGS,
        json_schema_extra=_TAG_SCHEMA,
    )
    limits: PolicyLimits | None = Field(
        None, description="Per-LLMEndpoint rules, refused at apply and checked at reconcile."
    )
    budget: PolicyBudget | None = Field(
        None, description="Per-namespace aggregates, enforced by the operator at reconcile."
    )

    @field_validator("enforced_tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        return _check_tags(tags)


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if any(k.startswith((OWNED_TAG_PREFIX, "aws:")) for k in tags):
        raise ValueError(MSG_TAGS_RESERVED)
    if not all(
        1 <= len(k) <= 128 and len(v) <= 256 and _tag_text(k) and _tag_text(v)
        for k, v in tags.items()
    ):
        raise ValueError(MSG_TAG_CHARS)
    return tags


# --- status -----------------------------------------------------------------


class NamespaceUsage(_Status):
    name: str = Field(description="A governed namespace.")
    endpoints: int = Field(0, description="LLMEndpoints counted against the budget.")
    cost_per_hour_usd: str | None = Field(
        None,
        alias="costPerHourUSD",
        description="On-demand USD per hour of what runs now (status.estimatedHourlyCostUSD).",
    )
    ceiling_cost_per_hour_usd: str | None = Field(
        None,
        alias="ceilingCostPerHourUSD",
        description="USD per hour with every LLMEndpoint at its ceiling: what the budget counts.",
    )
    refused: int = Field(0, description="LLMEndpoints refused (BudgetExceeded, PolicyViolation).")


class LLMEndpointPolicyStatus(_Status):
    observed_generation: int | None = Field(
        None, description="metadata.generation this status was computed for."
    )
    namespaces: list[NamespaceUsage] = Field(
        default_factory=list, description="Per governed namespace: usage now and at ceiling."
    )
    governed: int | None = Field(None, description="Namespaces this policy governs.")
    problems: list[str] = Field(
        default_factory=list,
        description=(
            "What the admin should look at: a selector matching no namespace, a default "
            "conflicting with another policy's."
        ),
    )
    price_date: str | None = Field(
        None, description="Date of the instance catalog's prices the costs are computed with."
    )
    updated_time: str | None = Field(
        None, description="When the operator last computed this status (RFC 3339)."
    )
