"""The LLMEndpoint API: pydantic models of `spec` and `status`.

These models are the single source of truth: the CRD (OpenAPI schema and CEL
rules) is generated from them by `llm_operator.crd`, and the operator parses
every object through them. Field names are snake_case in Python and camelCase
on the wire. Cross-field rules are written once as CEL (for the API server) and
mirrored by validators here, with the same messages, for the operator.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_snake

from llm_operator.api import catalog, engines
from llm_operator.api.engines import Dtype, Engine, Pooling, Quantize
from llm_operator.api.regions import arn_partitions, partition_of, partitions, sagemaker_regions

GROUP = "llmoperator.io"
VERSION = "v1alpha1"
KIND = "LLMEndpoint"
PLURAL = "llmendpoints"
SINGULAR = "llmendpoint"
SHORT_NAMES = ("llme",)
API_VERSION = f"{GROUP}/{VERSION}"

# metadata.name is capped so every SageMaker name derived from it fits in 63
# characters without cutting the name itself (see llm_operator.core.naming).
MAX_NAME_LENGTH = 36
MAX_ADAPTER_NAME_LENGTH = 17
MAX_ADAPTERS = 20
MAX_ENV = 64
# SageMaker: all keys and values of a model's container environments together at
# most 32 KB. The operator's own variables (model id, engine settings, token) need
# well under 2 KiB, so the user's share is the rest.
MAX_MODEL_ENVIRONMENT_BYTES = 32 * 1024
MAX_USER_ENV_CHARS = 30 * 1024
MAX_USER_TAGS = 46  # SageMaker allows 50 tags; the operator adds 4 ownership tags.
RESERVED_ADAPTER_NAMES = ("base",)

EndpointTypeName = Literal["InferenceComponent", "Model", "Serverless", "Async"]
DeletionPolicy = Literal["Delete", "Retain"]
# botocore's ProductionVariantInferenceAmiVersion enum (botocore 1.44).
InferenceAmiVersion = Literal[
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2-ami-sagemaker-inference-neuron-2",
    "al2023-ami-sagemaker-inference-gpu-4-1",
]
Phase = Literal["Pending", "Creating", "Updating", "InService", "Failed", "Deleting"]
ConditionStatus = Literal["True", "False", "Unknown"]
RolloutStrategy = Literal["AllAtOnce", "Canary", "Linear", "Rolling"]
RolloutPhase = Literal["InProgress", "Baking", "Succeeded", "RolledBack", "Failed"]
# SageMaker: AutoRollbackConfiguration.Alarms holds at most 10 alarms.
MAX_ROLLBACK_ALARMS = 10

HF_MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$"
REVISION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
_S3_BUCKET = r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/"
MODEL_ARTIFACT_PATTERN = rf"^{_S3_BUCKET}(\S*\.tar\.gz|(\S*/)?)$"
ADAPTER_ARTIFACT_PATTERN = rf"^{_S3_BUCKET}\S*\.tar\.gz$"
ADAPTER_NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"  # no "--": see core.naming
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"
# The partition is one of botocore's exactly (aws, aws-cn, aws-us-gov, aws-iso, ...).
ARN_PARTITION_PATTERN = "(" + "|".join(re.escape(p) for p in arn_partitions()) + ")"
ROLE_ARN_PATTERN = rf"^arn:{ARN_PARTITION_PATTERN}:iam::[0-9]{{12}}:role/?[a-zA-Z_0-9+=,.@\-_/]+$"
ENV_KEY_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
SECRET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
SUBNET_PATTERN = r"^subnet-[0-9a-zA-Z]+$"
SECURITY_GROUP_PATTERN = r"^sg-[0-9a-zA-Z]+$"
TGI_VERSION_PATTERN = r"^[0-9]+(\.[0-9]+){0,2}$"
ENGINE_VERSION_PATTERN = TGI_VERSION_PATTERN
# SageMaker's TagKey / TagValue pattern (botocore's model), in RE2 for CEL.
TAG_PATTERN = r"^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$"
_TAG_SYMBOLS = frozenset("_.:/=+-@")
OWNED_TAG_PREFIX = "llmoperator.io/"
TOKEN_ENV_KEYS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def cel(rule: str, message: str, **extra: str) -> dict[str, str]:
    """One `x-kubernetes-validations` entry."""
    return {"rule": rule, "message": message, **extra}


def rules(*entries: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(entries)}


def _tag_text(text: str) -> bool:
    """SageMaker's tag pattern: letters, separators (spaces), numbers and _.:/=+-@."""
    return all(c in _TAG_SYMBOLS or unicodedata.category(c)[0] in "LZN" for c in text)


def _families_regex() -> str:
    return "|".join(catalog.families())


MSG_MODEL_SOURCE = "set exactly one of model.hfModelId, model.artifactUri and model.modelPackage"
MSG_PACKAGE_SOURCE = (
    "set exactly one of model.modelPackage.group (a model package group, name or ARN) "
    "and model.modelPackage.arn (one model package)"
)
MSG_PACKAGE_VERSION = (
    "model.modelPackage.version picks a version of a group: use it with "
    "model.modelPackage.group, not with arn (an ARN names one package already)"
)
MSG_PACKAGE_VERSION_VALUE = (
    "model.modelPackage.version must be latest-approved or a version number (1, 2, ...)"
)
MSG_PACKAGE_IMAGE = (
    "model.image cannot be set with model.modelPackage: the package brings its own "
    "container image (model.env overrides its environment)"
)
# Typed engine settings become one engine's variables; a package's container is its own,
# so only model.env (and the token, when the package needs one) apply to it.
PACKAGE_FORBIDDEN = (
    "revision",
    "engine",
    "engineVersion",
    "tgiVersion",
    "maxModelLength",
    "maxConcurrentRequests",
    "tensorParallelDegree",
    "quantize",
    "dtype",
    "trustRemoteCode",
    "maxLoraRank",
    "maxInputTokens",
    "maxTotalTokens",
    "maxBatchTotalTokens",
    "maxBatchPrefillTokens",
)
MSG_PACKAGE_SETTINGS = (
    "with model.modelPackage only model.env (environment overrides) and "
    "model.hfTokenSecretRef apply: the package's container is not one of the operator's "
    "engines, so remove model." + ", model.".join(PACKAGE_FORBIDDEN)
)
LATEST_APPROVED = "latest-approved"
PACKAGE_VERSION_PATTERN = rf"^({LATEST_APPROVED}|[1-9][0-9]{{0,8}})$"
# A model package group's name (SageMaker's EntityName), or its ARN.
PACKAGE_GROUP_PATTERN = (
    rf"^(arn:{ARN_PARTITION_PATTERN}:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package-group/)?"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)
# One model package: a versioned one (group/N) or an unversioned (Marketplace) one.
PACKAGE_ARN_PATTERN = (
    rf"^arn:{ARN_PARTITION_PATTERN}:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package/"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}(/[0-9]{1,9})?$"
)
MSG_INPUT_TOTAL = "maxInputTokens must be less than maxTotalTokens"
MSG_PREFILL_INPUT = "maxBatchPrefillTokens must be at least maxInputTokens"
MSG_BATCH_TOTAL = "maxBatchTotalTokens must be at least maxTotalTokens"
MSG_INPUT_LENGTH = "maxInputTokens must be less than maxModelLength"
MSG_LENGTH_TOTAL = "set model.maxModelLength or model.maxTotalTokens (its TGI name), not both"
MSG_TGI_VERSION_ENGINE = (
    "model.tgiVersion is the deprecated name of model.engineVersion for engine tgi: use "
    "model.engineVersion with other engines"
)
MSG_VERSION_BOTH = "set model.engineVersion or model.tgiVersion (deprecated), not both"
MSG_TP_COPY = (
    "model.tensorParallelDegree must not exceed resources.acceleratorsPerCopy: a copy "
    "shards the model over its own accelerators only (on Inferentia and Trainium it "
    "counts NeuronCores instead)"
)
# Instance types whose engines count tensor parallelism in NeuronCores, not chips.
NEURON_TYPE_PREFIXES = ("ml.inf", "ml.trn")
MSG_ENV_TOKEN = (
    "do not put the Hugging Face token in model.env: store it in a Secret and "
    "reference it with model.hfTokenSecretRef"
)
MSG_ENV_KEYS = "model.env keys must be environment variable names ([A-Za-z_][A-Za-z0-9_]*)"
MSG_MIN_MAX = "instance.minCount must not be greater than instance.maxCount"
MSG_COUNT_MIN = "instance.count must not be less than instance.minCount"
MSG_COUNT_MAX = "instance.count must not be greater than instance.maxCount"
MSG_ADAPTERS_MODEL = (
    "adapters need endpointType InferenceComponent: LoRA adapters are inference "
    "components on the base model"
)
MSG_RESOURCES_MODEL = (
    "resources (copies and per-copy compute) apply to endpointType InferenceComponent only; "
    "a Model endpoint scales by instance.count (kubectl scale sets resources.copies, so it "
    "does not apply)"
)
MSG_SCALING_MODEL = (
    "instance.minCount and instance.maxCount (managed instance scaling) apply to "
    "endpointType InferenceComponent only"
)
MSG_ADAPTER_RESERVED = "adapter name 'base' is reserved for the base model's inference component"
MSG_TAGS_RESERVED = "aws.tags keys must not start with 'llmoperator.io/' or 'aws:' (reserved)"
MSG_REGION_UNKNOWN = "aws.region must be a region where SageMaker is available"
MSG_TAG_CHARS = (
    "aws.tags keys (1 to 128 characters) and values (at most 256) may hold only "
    "letters, digits, spaces and _ . : / = + - @ (SageMaker's tag rules)"
)
MSG_ENV_SIZE = (
    f"model.env keys and values together must be at most {MAX_USER_ENV_CHARS} characters "
    "(SageMaker allows 32 KB of environment per model; the operator's own variables "
    "need the rest)"
)
MSG_NEURON_ENGINE = (
    "model.engine has no AWS container for Inferentia (ml.inf2.*): use engine "
    + " or ".join(engines.NEURON_ENGINES)
    + ", a GPU instance type, or set model.image to a Neuron image of your own"
)
MSG_ROLE_PARTITION = (
    "aws.{field} must be a role of the partition of aws.region (arn:aws: for most regions, "
    "arn:aws-cn: for cn-*, arn:aws-us-gov: for us-gov-*)"
)
MSG_REGION_IMMUTABLE = (
    "aws.region cannot change: create a new LLMEndpoint in the other region instead"
)
MSG_TYPE_IMMUTABLE = (
    "endpointType cannot change: create a new LLMEndpoint with the other endpoint type"
)
MSG_ROLLOUT_IC = (
    "rollout.strategy must be Rolling for endpointType InferenceComponent: SageMaker "
    "updates inference components with a RollingUpdatePolicy only; AllAtOnce, Canary "
    "and Linear (blue/green traffic shifting) are for endpointType Model"
)
MSG_ROLLOUT_TIMEOUT = (
    "rollout cannot finish within timeoutSeconds: SageMaker bakes waitSeconds after each "
    "step (AllAtOnce and Rolling: 1 step, Canary: 2, Linear: 100 / linearStepPercent "
    "rounded up), and steps x waitSeconds must be less than timeoutSeconds (e.g. Linear "
    "10% x waitSeconds 3600 = 36000 > 600), or every update is rolled back at the timeout; "
    "raise timeoutSeconds (at most 28800), lower waitSeconds or take bigger steps"
)
MSG_CANARY_PERCENT = "rollout.canaryPercent applies to strategy Canary only"
MSG_LINEAR_PERCENT = "rollout.linearStepPercent applies to strategy Linear only"
MSG_BATCH_PERCENT = "rollout.maxBatchPercent applies to strategy Rolling only"
MSG_ALARMS_TOTAL = (
    f"rollout: at most {MAX_ROLLBACK_ALARMS} alarms in all (rollbackAlarms plus one per "
    "autoRollback threshold): SageMaker's AutoRollbackConfiguration holds no more"
)
MSG_AUTO_ROLLBACK_EMPTY = "rollout.autoRollback needs maxErrorRatePercent or maxP99LatencyMs"
MSG_REPLICAS_RANGE = "autoscaling.minReplicas must not be greater than autoscaling.maxReplicas"
MSG_ZERO_MODEL = (
    "autoscaling.minReplicas 0 (scale to zero) needs endpointType InferenceComponent (or "
    "Async): SageMaker scales only inference components and asynchronous endpoints to zero"
)
MSG_SCALE_AUTOSCALED = (
    "resources.copies is managed by spec.autoscaling while it is set (kubectl scale "
    "included): change autoscaling.minReplicas and maxReplicas, or remove autoscaling "
    "to set a fixed count"
)
MSG_COUNT_AUTOSCALED = (
    "instance.count is managed by spec.autoscaling while it is set on an endpointType "
    "Model endpoint: change autoscaling.minReplicas and maxReplicas, or remove autoscaling "
    "to set a fixed count"
)
AutoscalingMetric = Literal["ConcurrentRequests", "Invocations", "BacklogPerInstance"]


MSG_INSTANCE_OR_POOL = (
    "set exactly one of instance (an endpoint of its own) and pool (a place on an "
    "LLMEndpointPool's endpoint)"
)
MSG_POOL_IC = "pool needs endpointType InferenceComponent: models share a pool as components"
MSG_POOL_MOVE = (
    "pool cannot be changed or removed on an existing LLMEndpoint (only a standalone "
    "LLMEndpoint moves onto a pool, by replacing instance with pool): create a new "
    "LLMEndpoint where it should run, then delete this one"
)


def msg_instance_family() -> str:
    return "instance.type must be an ml.* instance type of a known family: " + ", ".join(
        catalog.families()
    )


def msg_name_length() -> str:
    return (
        f"metadata.name must be at most {MAX_NAME_LENGTH} characters so that the "
        "SageMaker names derived from it fit in 63 characters"
    )


class _Spec(BaseModel):
    """Base of the spec models: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
    )


class _Status(BaseModel):
    """Base of the status models: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="ignore",
    )


class SecretKeyRef(_Spec):
    name: str = Field(
        description="Name of a Secret in the LLMEndpoint's namespace.",
        min_length=1,
        max_length=253,
        pattern=SECRET_NAME_PATTERN,
    )
    key: str = Field(
        "token",
        description="Key in the Secret whose value is the Hugging Face token.",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
    )


def _engine_rules() -> list[dict[str, str]]:
    """CEL: settings (and values) an explicitly chosen engine cannot express.

    With model.engine unset the API server cannot know the engine (an existing object
    keeps the one it was created with), so the operator checks those and says so in
    the Degraded condition.
    """
    out = []
    for setting in engines.SETTINGS:
        if not setting.user:
            continue
        name = setting.name
        able = engines.engines_supporting(name)
        if len(able) < len(engines.ENGINES):
            listed = ", ".join(f"'{e}'" for e in able)
            out.append(
                cel(
                    f"!has(self.{name}) || !has(self.engine) || self.engine in [{listed}]",
                    f"{setting.path} cannot be expressed by the chosen engine: "
                    f"{setting.instead or 'remove it'}",
                    messageExpression=(
                        f"'{setting.path} cannot be expressed by engine ' + self.engine + "
                        f"': {setting.instead or 'remove it'}'"
                    ),
                )
            )
        limits = {e: engines.accepted_values(e, name) for e in able}
        if any(v is not None for v in limits.values()):
            cases = " || ".join(
                f"(self.engine == '{e}' && self.{name} in [{', '.join(repr(x) for x in v)}])"
                for e, v in limits.items()
                if v is not None
            )
            out.append(
                cel(
                    f"!has(self.{name}) || !has(self.engine) || {cases}",
                    f"{setting.path}: the chosen engine does not support this value "
                    "(see docs/engines.md)",
                    messageExpression=(
                        f"'{setting.path} ' + self.{name} + ' is not supported by engine '"
                        " + self.engine + ' (see docs/engines.md)'"
                    ),
                )
            )
    return out


PackageVersion = Annotated[
    int | str,
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            **rules(
                cel(
                    f"string(self).matches('{PACKAGE_VERSION_PATTERN}')",
                    MSG_PACKAGE_VERSION_VALUE,
                )
            ),
        }
    ),
]


class ModelPackageSpec(_Spec):
    """A SageMaker model registry version, or one model package (AWS Marketplace)."""

    model_config = ConfigDict(
        json_schema_extra=rules(
            cel("has(self.group) != has(self.arn)", MSG_PACKAGE_SOURCE),
            cel("!has(self.version) || has(self.group)", MSG_PACKAGE_VERSION),
        )
    )

    group: str | None = Field(
        None,
        description=(
            "Model package group (name or ARN) in the model registry: the operator serves "
            "its version `version` picks, and rolls out each newly approved one. Exactly "
            "one of group and arn."
        ),
        min_length=1,
        max_length=256,
        pattern=PACKAGE_GROUP_PATTERN,
    )
    version: PackageVersion | None = Field(
        None,
        description=(
            "latest-approved (the default): the newest Approved version of group, followed "
            "as versions are approved and rejected; or a version number to pin, served "
            "while it is Approved. Only with group."
        ),
    )
    arn: str | None = Field(
        None,
        description=(
            "ARN of one model package: an AWS Marketplace model package (subscribe to it "
            "first) or one version of a group. Exactly one of group and arn."
        ),
        min_length=1,
        max_length=2048,
        pattern=PACKAGE_ARN_PATTERN,
    )

    @model_validator(mode="after")
    def _check(self) -> ModelPackageSpec:
        if (self.group is None) == (self.arn is None):
            raise ValueError(MSG_PACKAGE_SOURCE)
        if self.version is not None and self.group is None:
            raise ValueError(MSG_PACKAGE_VERSION)
        if self.version is not None and (
            isinstance(self.version, bool)
            or not re.fullmatch(PACKAGE_VERSION_PATTERN, str(self.version))
        ):
            raise ValueError(MSG_PACKAGE_VERSION_VALUE)
        return self

    @property
    def pinned(self) -> int | None:
        """The version number pinned; None: follow the newest approved version."""
        if self.version is None or str(self.version) == LATEST_APPROVED:
            return None
        return int(self.version)

    @property
    def group_name(self) -> str | None:
        """The group's name, whether given by name or ARN."""
        return self.group.rsplit("/", 1)[-1] if self.group else None

    @property
    def source(self) -> str:
        """What `kubectl get` shows: group:version, or the package's ARN."""
        if self.arn is not None:
            return self.arn
        return f"{self.group_name}:{self.version if self.version is not None else LATEST_APPROVED}"


class ModelSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "[has(self.hfModelId), has(self.artifactUri), has(self.modelPackage)]"
                ".filter(x, x).size() == 1",
                MSG_MODEL_SOURCE,
            ),
            cel("!has(self.modelPackage) || !has(self.image)", MSG_PACKAGE_IMAGE),
            cel(
                "!has(self.modelPackage) || !("
                + " || ".join(f"has(self.{f})" for f in PACKAGE_FORBIDDEN)
                + ")",
                MSG_PACKAGE_SETTINGS,
            ),
            cel(
                "!has(self.maxInputTokens) || !has(self.maxTotalTokens)"
                " || self.maxInputTokens < self.maxTotalTokens",
                MSG_INPUT_TOTAL,
            ),
            cel(
                "!has(self.maxInputTokens) || !has(self.maxBatchPrefillTokens)"
                " || self.maxBatchPrefillTokens >= self.maxInputTokens",
                MSG_PREFILL_INPUT,
            ),
            cel(
                "!has(self.maxTotalTokens) || !has(self.maxBatchTotalTokens)"
                " || self.maxBatchTotalTokens >= self.maxTotalTokens",
                MSG_BATCH_TOTAL,
            ),
            cel(
                "!has(self.maxInputTokens) || !has(self.maxModelLength)"
                " || self.maxInputTokens < self.maxModelLength",
                MSG_INPUT_LENGTH,
            ),
            cel("!has(self.maxModelLength) || !has(self.maxTotalTokens)", MSG_LENGTH_TOTAL),
            cel("!has(self.engineVersion) || !has(self.tgiVersion)", MSG_VERSION_BOTH),
            cel(
                "!has(self.tgiVersion) || !has(self.engine) || self.engine == 'tgi'",
                MSG_TGI_VERSION_ENGINE,
            ),
            *_engine_rules(),
        )
    )

    hf_model_id: str | None = Field(
        None,
        description=(
            "Hugging Face Hub model id (e.g. mistralai/Mistral-7B-Instruct-v0.1), "
            "downloaded by the container at start. Exactly one of hfModelId, "
            "artifactUri and modelPackage."
        ),
        min_length=1,
        max_length=200,
        pattern=HF_MODEL_ID_PATTERN,
    )
    artifact_uri: str | None = Field(
        None,
        description=(
            "S3 URI of the model weights: a model.tar.gz, or a prefix ending in '/' "
            "for uncompressed files. The container serves it from /opt/ml/model. "
            "Exactly one of hfModelId, artifactUri and modelPackage."
        ),
        min_length=1,
        max_length=1024,
        pattern=MODEL_ARTIFACT_PATTERN,
    )
    model_package: ModelPackageSpec | None = Field(
        None,
        description=(
            "A model from the SageMaker model registry (a group's latest approved version, "
            "or a pinned one) or an AWS Marketplace model package; its container is the "
            "package's, model.env overrides its environment (docs/model-registry.md). "
            "Exactly one of hfModelId, artifactUri and modelPackage."
        ),
    )
    revision: str | None = Field(
        None,
        description="Hub revision (branch, tag or commit) of hfModelId. Default: main.",
        min_length=1,
        max_length=255,
        pattern=REVISION_PATTERN,
    )
    engine: Engine | None = Field(
        None,
        description=(
            "Serving engine: vllm, sglang, lmi (AWS's DJL Large Model Inference container "
            "with its vLLM backend), tgi (Hugging Face TGI, archived upstream) or tei "
            "(Hugging Face Text Embeddings Inference: embedding and reranker models, on "
            "GPUs or CPUs). Unset: "
            "the engine the object already runs (recorded in status.engine; objects an "
            "older operator created run tgi), else vllm for a new object. The typed "
            "settings below become the engine's own variables (docs/engines.md)."
        ),
    )
    engine_version: str | None = Field(
        None,
        description=(
            "Version of the engine's container from the operator's image table (e.g. "
            "0.30.0 or 0.30 for vllm). Unset: the newest the operator knows for the region. "
            "Ignored when image is set."
        ),
        max_length=16,
        pattern=ENGINE_VERSION_PATTERN,
    )
    image: str | None = Field(
        None,
        description=(
            "Container image URI. Empty or unset: the engine's container for aws.region "
            "and the instance type (GPU or Neuron) at engineVersion. Set it to the same "
            "engine's image: the environment rendered is the engine's."
        ),
        max_length=255,
        pattern=r"^\S*$",
    )
    tgi_version: str | None = Field(
        None,
        description=(
            "Deprecated: model.engineVersion for engine tgi. TGI container version from "
            "the operator's image table (e.g. 3.3.6 or 3.3)."
        ),
        max_length=16,
        pattern=TGI_VERSION_PATTERN,
    )
    hf_token_secret_ref: SecretKeyRef | None = Field(
        None,
        description=(
            "Secret holding a Hugging Face token for gated or private models; read at "
            "reconcile time and passed to the container as HF_TOKEN."
        ),
    )
    max_model_length: int | None = Field(
        None,
        description="Context length: prompt plus generated tokens of one request.",
        ge=1,
    )
    max_concurrent_requests: int | None = Field(
        None, description="Most sequences the engine serves at once (batch size).", ge=1
    )
    tensor_parallel_degree: int | None = Field(
        None,
        description=(
            "GPUs one copy shards the model over. Unset: resources.acceleratorsPerCopy "
            "(the instance's GPUs for endpointType Model)."
        ),
        ge=1,
        le=64,
    )
    quantize: Quantize | None = Field(
        None,
        description=(
            "Weight quantization. Unset or none: none. Which methods an engine accepts: "
            "docs/engines.md."
        ),
    )
    dtype: Dtype | None = Field(
        None, description="Weights and activations precision. Unset or auto: the checkpoint's."
    )
    trust_remote_code: bool | None = Field(
        None, description="Run the model repository's own code (true). Unset or false: never."
    )
    max_lora_rank: int | None = Field(
        None,
        description="Highest LoRA rank among spec.adapters (engines default to 16).",
        ge=1,
        le=512,
    )
    max_input_tokens: int | None = Field(
        None, description="TGI only: MAX_INPUT_TOKENS, longest prompt in tokens.", ge=1
    )
    max_total_tokens: int | None = Field(
        None,
        description="TGI only: MAX_TOTAL_TOKENS; prefer maxModelLength, which TGI reads the same.",
        ge=1,
    )
    max_batch_total_tokens: int | None = Field(
        None,
        description="TGI only: MAX_BATCH_TOTAL_TOKENS, tokens processed in one batch.",
        ge=1,
    )
    max_batch_prefill_tokens: int | None = Field(
        None, description="TGI only: MAX_BATCH_PREFILL_TOKENS, tokens in one prefill pass.", ge=1
    )
    parameters_billions: float | None = Field(
        None,
        description=(
            "Model size in billions of parameters, for the operator's fit check. Unset: "
            "read from the model id when it names a size (7B, 70b, 8x7B, 270M)."
        ),
        gt=0,
        le=100000,
    )
    # --- TEI (engine tei: embedding and reranker models) ---
    max_batch_tokens: int | None = Field(
        None,
        description="TEI only: MAX_BATCH_TOKENS, tokens in one batch over all its requests.",
        ge=1,
        le=10_000_000,
    )
    max_batch_requests: int | None = Field(
        None, description="TEI only: MAX_BATCH_REQUESTS, requests in one batch.", ge=1, le=100_000
    )
    max_client_batch_size: int | None = Field(
        None,
        description="TEI only: MAX_CLIENT_BATCH_SIZE, inputs one request may carry.",
        ge=1,
        le=100_000,
    )
    pooling: Pooling | None = Field(
        None,
        description=(
            "TEI only: POOLING, how token embeddings become one vector (cls, mean, splade, "
            "last-token). Unset: the model's own configuration."
        ),
    )
    auto_truncate: bool | None = Field(
        None,
        description=(
            "TEI only: AUTO_TRUNCATE, cut inputs longer than the model's maximum instead of "
            "refusing them."
        ),
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra container environment. The typed fields above win when they set "
            "the same variable; the token belongs in hfTokenSecretRef."
        ),
        max_length=MAX_ENV,
        json_schema_extra={
            "additionalProperties": {"type": "string", "maxLength": 1024},
            **rules(
                cel(
                    " && ".join(f"!('{k}' in self)" for k in TOKEN_ENV_KEYS),
                    MSG_ENV_TOKEN,
                ),
                cel(
                    f"self.all(k, size(k) <= 1024 && k.matches('{ENV_KEY_PATTERN}'))",
                    MSG_ENV_KEYS,
                ),
                cel(
                    f"self.map(k, size(k) + size(self[k])).sum() <= {MAX_USER_ENV_CHARS}",
                    MSG_ENV_SIZE,
                ),
            ),
        },
    )

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        sources = (self.hf_model_id, self.artifact_uri, self.model_package)
        if sum(s is not None for s in sources) != 1:
            raise ValueError(MSG_MODEL_SOURCE)
        if self.model_package is not None:
            if self.image is not None:
                raise ValueError(MSG_PACKAGE_IMAGE)
            if any(getattr(self, to_snake(f)) is not None for f in PACKAGE_FORBIDDEN):
                raise ValueError(MSG_PACKAGE_SETTINGS)
        i, t = self.max_input_tokens, self.max_total_tokens
        if i is not None and t is not None and i >= t:
            raise ValueError(MSG_INPUT_TOTAL)
        p = self.max_batch_prefill_tokens
        if i is not None and p is not None and p < i:
            raise ValueError(MSG_PREFILL_INPUT)
        b = self.max_batch_total_tokens
        if t is not None and b is not None and b < t:
            raise ValueError(MSG_BATCH_TOTAL)
        if any(k in self.env for k in TOKEN_ENV_KEYS):
            raise ValueError(MSG_ENV_TOKEN)
        m = self.max_model_length
        if i is not None and m is not None and i >= m:
            raise ValueError(MSG_INPUT_LENGTH)
        if m is not None and t is not None:
            raise ValueError(MSG_LENGTH_TOTAL)
        if self.engine_version is not None and self.tgi_version is not None:
            raise ValueError(MSG_VERSION_BOTH)
        if self.tgi_version is not None and self.engine not in (None, "tgi"):
            raise ValueError(MSG_TGI_VERSION_ENGINE)
        if self.engine is not None:
            problems = engines.unsupported(self.engine, self.settings())
            if problems:
                raise ValueError(problems[0])
        return self

    def settings(self) -> dict[str, object]:
        """The user's engine-neutral settings by table name (docs/engines.md), unset: None."""
        return {s.name: getattr(self, to_snake(s.name)) for s in engines.SETTINGS if s.user}

    @property
    def version(self) -> str | None:
        """engineVersion, or its deprecated TGI alias."""
        return self.engine_version or self.tgi_version

    @field_validator("env")
    @classmethod
    def _env_keys(cls, env: dict[str, str]) -> dict[str, str]:
        if any(not re.fullmatch(ENV_KEY_PATTERN, k) or len(k) > 1024 for k in env):
            raise ValueError(MSG_ENV_KEYS)
        if any(len(v) > 1024 for v in env.values()):
            raise ValueError("model.env values must be at most 1024 characters")
        if sum(len(k) + len(v) for k, v in env.items()) > MAX_USER_ENV_CHARS:
            raise ValueError(MSG_ENV_SIZE)
        return env

    @property
    def source(self) -> str:
        """hfModelId, artifactUri or the package, whichever is set: what `kubectl get` shows."""
        if self.model_package is not None:
            return self.model_package.source
        return self.hf_model_id or self.artifact_uri or ""


class InstanceSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "!has(self.minCount) || !has(self.maxCount) || self.minCount <= self.maxCount",
                MSG_MIN_MAX,
            ),
            cel("!has(self.minCount) || self.count >= self.minCount", MSG_COUNT_MIN),
            cel("!has(self.maxCount) || self.count <= self.maxCount", MSG_COUNT_MAX),
        )
    )

    type: str = Field(
        description=(
            "SageMaker instance type, e.g. ml.g5.12xlarge. Must be in the operator's "
            f"instance catalog (families {', '.join(catalog.families())})."
        ),
        max_length=64,
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        json_schema_extra=rules(
            cel(f"self.matches('^ml\\\\.({_families_regex()})\\\\.')", msg_instance_family())
        ),
    )
    count: int = Field(1, description="Initial number of instances.", ge=1, le=1000)
    min_count: int | None = Field(
        None,
        description=(
            "Managed instance scaling floor (InferenceComponent endpoints); 0 allows "
            "scaling the instances to zero."
        ),
        ge=0,
        le=1000,
    )
    max_count: int | None = Field(
        None,
        description="Managed instance scaling ceiling (InferenceComponent endpoints).",
        ge=1,
        le=1000,
    )

    inference_ami_version: InferenceAmiVersion | None = Field(
        None,
        description=(
            "SageMaker's InferenceAmiVersion of the production variant: the host's driver "
            "and CUDA (or Neuron) versions. Containers built for CUDA 13 need "
            "al2023-ami-sagemaker-inference-gpu-4-1. Unset: SageMaker's default."
        ),
    )

    @field_validator("type")
    @classmethod
    def _family(cls, value: str) -> str:
        if catalog.family_of(value) not in catalog.families():
            raise ValueError(msg_instance_family())
        return value

    @model_validator(mode="after")
    def _check(self) -> InstanceSpec:
        lo, hi = self.min_count, self.max_count
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(MSG_MIN_MAX)
        if lo is not None and self.count < lo:
            raise ValueError(MSG_COUNT_MIN)
        if hi is not None and self.count > hi:
            raise ValueError(MSG_COUNT_MAX)
        return self

    @property
    def scaling(self) -> bool:
        return self.min_count is not None or self.max_count is not None

    @property
    def pool_size(self) -> int:
        """Most instances the endpoint may run: maxCount, else count."""
        return max(self.count, self.max_count or 0)


# --- resources.placement: how copies are spread (docs/serving.md) -----------------

PlacementStrategyName = Literal["Spread", "Binpack"]
# resources.placement.strategy -> SchedulingConfig.PlacementStrategy (botocore's enum).
PLACEMENT_STRATEGIES: dict[str, str] = {"Spread": "SPREAD", "Binpack": "BINPACK"}
ZoneBalanceMode = Literal["Permissive"]
# availabilityZoneBalance.mode -> AvailabilityZoneBalance.EnforcementMode.
ZONE_BALANCE_MODES: dict[str, str] = {"Permissive": "PERMISSIVE"}


class ZoneBalanceSpec(_Spec):
    mode: ZoneBalanceMode = Field(
        "Permissive",
        description=(
            "Permissive (the one mode SageMaker has): copies are balanced over the "
            "Availability Zones where capacity allows, and placed anyway where it does not."
        ),
    )
    max_imbalance: int | None = Field(
        None,
        description=(
            "Most copies one Availability Zone may have beyond another. Unset: SageMaker's default."
        ),
        ge=0,
        le=100,
    )


class PlacementSpec(_Spec):
    strategy: PlacementStrategyName = Field(
        description=(
            "Spread: copies over as many instances as there are (one instance lost takes "
            "fewest copies with it). Binpack: as few instances as possible (the rest can be "
            "scaled in)."
        ),
    )
    availability_zone_balance: ZoneBalanceSpec | None = Field(
        None, description="Balance the copies over the endpoint's Availability Zones."
    )


class ResourcesSpec(_Spec):
    copies: int = Field(
        1,
        description="Copies of the model (inference component copy count); 0 scales to zero.",
        ge=0,
        le=1000,
    )
    accelerators_per_copy: int = Field(
        1,
        description=(
            "GPUs (or Inferentia chips) per copy; also the container's SM_NUM_GPUS. "
            "0 for CPU instance types."
        ),
        ge=0,
        le=64,
    )
    cpus_per_copy: float = Field(
        1, description="vCPUs reserved per copy (at least 0.25).", ge=0.25, le=512
    )
    memory_mib_per_copy: int = Field(
        4096,
        alias="memoryMiBPerCopy",
        description="Host memory reserved per copy in MiB (at least 128).",
        ge=128,
        le=4 * 1024 * 1024,
    )
    # --- LLM-aware serving (docs/serving.md) ---
    cache_model_data: bool | None = Field(
        None,
        description=(
            "Cache the model data on each instance (the component's DataCacheConfig): a "
            "later copy on an instance that holds one starts from the cache instead of "
            "downloading the model again. false turns it off; unset: SageMaker's default "
            "(off)."
        ),
    )
    placement: PlacementSpec | None = Field(
        None,
        description=(
            "How SageMaker places the copies on the instances (the component's "
            "SchedulingConfig). Unset: SageMaker's default placement."
        ),
    )


class AutoscalingSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel("self.minReplicas <= self.maxReplicas", MSG_REPLICAS_RANGE),
        )
    )

    min_replicas: int = Field(
        1,
        description=(
            "Fewest copies (InferenceComponent) or instances (Model, Async). 0 scales the "
            "inference component to zero when idle (its instances reach zero only when "
            "instance.minCount is 0), or an Async endpoint's instances when its backlog is "
            "empty; Model endpoints take 1 or more."
        ),
        ge=0,
        le=1000,
    )
    max_replicas: int = Field(
        description="Most copies (InferenceComponent) or instances (Model).", ge=1, le=1000
    )
    metric: AutoscalingMetric = Field(
        "ConcurrentRequests",
        description=(
            "What target tracking holds at `target`: ConcurrentRequests (per copy or "
            "instance, high resolution), Invocations (per copy or instance per minute) or "
            "BacklogPerInstance (endpointType Async only, which takes no other: queued "
            "requests per instance, ApproximateBacklogSizePerInstance)."
        ),
    )
    target: float = Field(
        description="The metric's value per copy (or instance) to hold.", gt=0, le=1000000
    )
    scale_in_cooldown_seconds: int = Field(
        300, description="Seconds after a scale-in before the next one.", ge=0, le=86400
    )
    scale_out_cooldown_seconds: int = Field(
        60, description="Seconds after a scale-out before the next one.", ge=0, le=86400
    )

    @model_validator(mode="after")
    def _check(self) -> AutoscalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(MSG_REPLICAS_RANGE)
        return self


class AdapterSpec(_Spec):
    name: str = Field(
        description=(
            f"Adapter name: lowercase letters, digits and '-', at most "
            f"{MAX_ADAPTER_NAME_LENGTH} characters; names its inference component."
        ),
        min_length=1,
        max_length=MAX_ADAPTER_NAME_LENGTH,
        pattern=ADAPTER_NAME_PATTERN,
        json_schema_extra=rules(cel("self != 'base'", MSG_ADAPTER_RESERVED)),
    )
    artifact_uri: str = Field(
        description="S3 URI of the LoRA adapter as a .tar.gz archive.",
        min_length=1,
        max_length=1024,
        pattern=ADAPTER_ARTIFACT_PATTERN,
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_ADAPTER_NAMES:
            raise ValueError(MSG_ADAPTER_RESERVED)
        return value


class VpcSpec(_Spec):
    subnets: list[str] = Field(
        description="Subnet ids (subnet-...).",
        min_length=1,
        max_length=16,
        json_schema_extra={"items": {"type": "string", "maxLength": 32, "pattern": SUBNET_PATTERN}},
    )
    security_group_ids: list[str] = Field(
        description="Security group ids (sg-...).",
        min_length=1,
        max_length=5,
        json_schema_extra={
            "items": {"type": "string", "maxLength": 32, "pattern": SECURITY_GROUP_PATTERN}
        },
    )


def _partition_cel() -> str:
    """CEL for the partition of self.region (the aws partition for any other region)."""
    expression = "'aws'"
    for name, regions in sorted(partitions().items(), reverse=True):
        if name != "aws":
            listed = ", ".join(f"'{r}'" for r in regions)
            expression = f"(self.region in [{listed}] ? '{name}' : {expression})"
    return expression


def _role_partition_rule(field: str, optional: bool) -> dict[str, str]:
    part = _partition_cel()
    rule = f"self.{field}.startsWith('arn:' + {part} + ':')"
    return cel(
        f"!has(self.{field}) || {rule}" if optional else rule,
        MSG_ROLE_PARTITION.format(field=field),
        messageExpression=(
            f"'aws.{field} must be a role of partition ' + {part} + ', the partition of "
            f"aws.region ' + self.region + ' (arn:' + {part} + ':iam::ACCOUNT:role/NAME)'"
        ),
    )


class AwsSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            _role_partition_rule("executionRoleArn", optional=False),
            _role_partition_rule("roleArn", optional=True),
        )
    )

    region: str = Field(
        description="AWS region of the SageMaker resources, e.g. us-east-1. Immutable.",
        max_length=32,
        pattern=REGION_PATTERN,
        json_schema_extra=rules(
            cel(
                "self in [" + ", ".join(f"'{r}'" for r in sagemaker_regions()) + "]",
                MSG_REGION_UNKNOWN,
                messageExpression=(
                    "'aws.region ' + self + ' is not a region where SageMaker is available "
                    "(check the spelling, e.g. us-east-1)'"
                ),
            ),
            cel("self == oldSelf", MSG_REGION_IMMUTABLE),
        ),
    )
    execution_role_arn: str = Field(
        description="IAM role SageMaker assumes to pull the image and model and write logs.",
        min_length=20,
        max_length=2048,
        pattern=ROLE_ARN_PATTERN,
    )
    role_arn: str | None = Field(
        None,
        description=(
            "IAM role the operator assumes to manage this LLMEndpoint's SageMaker resources. "
            "Only a role the cluster admin allowed for the namespace (Namespace annotations "
            "llmoperator.io/aws-role-arn and llmoperator.io/aws-allowed-role-arns) is "
            "accepted; absent, the namespace's role applies."
        ),
        min_length=20,
        max_length=2048,
        pattern=ROLE_ARN_PATTERN,
    )
    vpc: VpcSpec | None = Field(
        None, description="Run the containers in this VPC (subnets and security groups)."
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        description=(
            f"Tags for every SageMaker resource, besides the operator's ownership tags "
            f"(at most {MAX_USER_TAGS}: SageMaker allows 50)."
        ),
        max_length=MAX_USER_TAGS,
        json_schema_extra={
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
        },
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in sagemaker_regions():
            raise ValueError(
                f"aws.region {region} is not a region where SageMaker is available "
                "(check the spelling, e.g. us-east-1)"
            )
        return region

    @model_validator(mode="after")
    def _roles_in_the_region_partition(self) -> AwsSpec:
        partition = partition_of(self.region) or "aws"
        for field, arn in (
            ("executionRoleArn", self.execution_role_arn),
            ("roleArn", self.role_arn),
        ):
            if arn is not None and not arn.startswith(f"arn:{partition}:"):
                raise ValueError(
                    f"aws.{field} must be a role of partition {partition}, the partition of "
                    f"aws.region {self.region} (arn:{partition}:iam::ACCOUNT:role/NAME)"
                )
        return self

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        if any(k.startswith((OWNED_TAG_PREFIX, "aws:")) for k in tags):
            raise ValueError(MSG_TAGS_RESERVED)
        if not all(
            1 <= len(k) <= 128 and len(v) <= 256 and _tag_text(k) and _tag_text(v)
            for k, v in tags.items()
        ):
            raise ValueError(MSG_TAG_CHARS)
        return tags


class AutoRollbackSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "has(self.maxErrorRatePercent) || has(self.maxP99LatencyMs)",
                MSG_AUTO_ROLLBACK_EMPTY,
            )
        )
    )

    max_error_rate_percent: float | None = Field(
        None,
        description=(
            "Roll back when 5XX errors exceed this share of invocations (Invocation5XXErrors "
            "/ Invocations over one minute). The operator creates, owns and deletes the alarm."
        ),
        gt=0,
        le=100,
    )
    max_p99_latency_ms: int | None = Field(
        None,
        alias="maxP99LatencyMs",
        description=(
            "Roll back when the p99 of ModelLatency over one minute exceeds this many "
            "milliseconds. The operator creates, owns and deletes the alarm."
        ),
        ge=1,
        le=3_600_000,
    )

    @model_validator(mode="after")
    def _check(self) -> AutoRollbackSpec:
        if self.max_error_rate_percent is None and self.max_p99_latency_ms is None:
            raise ValueError(MSG_AUTO_ROLLBACK_EMPTY)
        return self

    @property
    def count(self) -> int:
        """Alarms the operator creates for these thresholds."""
        return (self.max_error_rate_percent is not None) + (self.max_p99_latency_ms is not None)


# linearStepPercent's default, as core.rollout sends it.
DEFAULT_LINEAR_STEP_PERCENT = 25
DEFAULT_MAX_BATCH_PERCENT = 25


def rollout_steps(strategy: str, linear_step_percent: int | None) -> int:
    """The baked steps at the least: SageMaker bakes waitSeconds after each one (a
    Rolling update has at least one batch; more with more instances or copies)."""
    if strategy == "Linear":
        step = linear_step_percent or DEFAULT_LINEAR_STEP_PERCENT
        return -(-100 // step)
    return 2 if strategy == "Canary" else 1


def _timeout_rule() -> dict[str, str]:
    step = f"(has(self.linearStepPercent) ? self.linearStepPercent : {DEFAULT_LINEAR_STEP_PERCENT})"
    steps = (
        f"(self.strategy == 'Linear' ? (100 + {step} - 1) / {step}"
        " : (self.strategy == 'Canary' ? 2 : 1))"
    )
    baking = f"self.waitSeconds * {steps}"
    return cel(
        f"!has(self.timeoutSeconds) || {baking} < self.timeoutSeconds",
        MSG_ROLLOUT_TIMEOUT,
        # No messageExpression: the API server's cost estimate refuses string(int) in one.
    )


class RolloutSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            _timeout_rule(),
            cel(
                "(has(self.rollbackAlarms) ? size(self.rollbackAlarms) : 0)"
                " + (has(self.autoRollback) && has(self.autoRollback.maxErrorRatePercent)"
                " ? 1 : 0)"
                " + (has(self.autoRollback) && has(self.autoRollback.maxP99LatencyMs) ? 1 : 0)"
                f" <= {MAX_ROLLBACK_ALARMS}",
                MSG_ALARMS_TOTAL,
            ),
            cel("!has(self.canaryPercent) || self.strategy == 'Canary'", MSG_CANARY_PERCENT),
            cel("!has(self.linearStepPercent) || self.strategy == 'Linear'", MSG_LINEAR_PERCENT),
            cel("!has(self.maxBatchPercent) || self.strategy == 'Rolling'", MSG_BATCH_PERCENT),
        )
    )

    strategy: RolloutStrategy = Field(
        "Rolling",
        description=(
            "How an update replaces what serves. Model endpoints: AllAtOnce, Canary or "
            "Linear (blue/green: a new fleet, traffic shifted to it in steps) or Rolling "
            "(instances replaced in batches). InferenceComponent endpoints: Rolling only "
            "(copies, and for instance changes instances, replaced in batches). Serverless "
            "endpoints: AllAtOnce, Canary or Linear (SageMaker excludes them from Rolling)."
        ),
    )
    canary_percent: int | None = Field(
        None,
        description="Canary: share of the capacity that takes traffic first (1-50). Default 10.",
        ge=1,
        le=50,
    )
    linear_step_percent: int | None = Field(
        None,
        description="Linear: share of the capacity added to the new fleet per step (10-50). "
        "Default 25.",
        ge=10,
        le=50,
    )
    max_batch_percent: int | None = Field(
        None,
        description="Rolling: share of the copies or instances replaced per batch (5-50). "
        "Default 25.",
        ge=5,
        le=50,
    )
    wait_seconds: int = Field(
        600,
        description="Bake time after each step, while the rollback alarms are watched (0-3600).",
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
            "a bake rolls the update back."
        ),
        max_length=MAX_ROLLBACK_ALARMS,
        json_schema_extra={
            "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S.*$"},
            "x-kubernetes-list-type": "set",
        },
    )
    auto_rollback: AutoRollbackSpec | None = Field(
        None,
        description=(
            "Rollback alarms the operator creates (tagged as its own, updated when a "
            "threshold changes, deleted with the LLMEndpoint), on the endpoint's metrics "
            "(Model endpoints) or the base inference component's."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> RolloutSpec:
        if self.canary_percent is not None and self.strategy != "Canary":
            raise ValueError(MSG_CANARY_PERCENT)
        if self.linear_step_percent is not None and self.strategy != "Linear":
            raise ValueError(MSG_LINEAR_PERCENT)
        if self.max_batch_percent is not None and self.strategy != "Rolling":
            raise ValueError(MSG_BATCH_PERCENT)
        if any(not a.strip() or len(a) > 255 for a in self.rollback_alarms):
            raise ValueError("rollout.rollbackAlarms names must be 1 to 255 characters")
        if len(set(self.rollback_alarms)) != len(self.rollback_alarms):
            raise ValueError("rollout.rollbackAlarms must not repeat an alarm")
        owned = self.auto_rollback.count if self.auto_rollback else 0
        if len(self.rollback_alarms) + owned > MAX_ROLLBACK_ALARMS:
            raise ValueError(MSG_ALARMS_TOTAL)
        steps = rollout_steps(self.strategy, self.linear_step_percent)
        baking = steps * self.wait_seconds
        if self.timeout_seconds is not None and baking >= self.timeout_seconds:
            raise ValueError(
                f"rollout cannot finish within timeoutSeconds {self.timeout_seconds}: "
                f"{self.strategy} bakes {steps} step(s) x waitSeconds {self.wait_seconds} = "
                f"{baking} seconds, so SageMaker would roll back every update; raise "
                "timeoutSeconds (at most 28800), lower waitSeconds"
                + (" or raise linearStepPercent" if self.strategy == "Linear" else "")
            )
        return self


def _neuron_types() -> list[str]:
    """Instance type prefixes of the catalog's Neuron families (ml.inf2.)."""
    return sorted(
        {f"ml.{t.family}." for t in catalog.instance_types() if t.accelerator_kind == "neuron"}
    )


def _neuron_engine_rule() -> dict[str, str]:
    """An explicit engine without a Neuron container on a Neuron type, and no model.image."""
    able = ", ".join(f"'{e}'" for e in engines.NEURON_ENGINES)
    neuron = " || ".join(f"self.instance.type.startsWith('{p}')" for p in _neuron_types())
    return cel(
        f"!has(self.model.engine) || self.model.engine in [{able}]"
        " || (has(self.model.image) && self.model.image != '')"
        f" || !has(self.instance) || !({neuron})",
        MSG_NEURON_ENGINE,
        messageExpression=(
            "'model.engine ' + self.model.engine + ' has no AWS container for ' + "
            "self.instance.type + ' (Inferentia): use engine "
            + " or ".join(engines.NEURON_ENGINES)
            + ", a GPU instance type, or set model.image to a Neuron image of your own'"
        ),
    )


class PoolRef(_Spec):
    name: str = Field(
        description="The LLMEndpointPool's name.",
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    )
    namespace: str | None = Field(
        None,
        description="The LLMEndpointPool's namespace; unset: this LLMEndpoint's.",
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    )


# --- serverless endpoints (endpointType Serverless) and embedding engines -----------------
# SageMaker serverless: 1 to 6 GiB in 1 GiB steps, 1 to 200 concurrent invocations
# (botocore's ProductionVariantServerlessConfig), CPU only.
SERVERLESS_MEMORY_MIB = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200
# Bytes per parameter of the weights, by model.quantize (the fit check's figures; unset and
# none: 16 bits). core.validation reads the same table.
BYTES_PER_PARAMETER: dict[str | None, float] = {
    None: 2.0,
    "none": 2.0,
    "bitsandbytes": 1.0,
    "eetq": 1.0,
    "fp8": 1.0,
    "gptq": 0.5,
    "awq": 0.5,
}
MSG_SERVERLESS_BLOCK = (
    "spec.serverless is required with endpointType Serverless and refused with the other "
    "endpoint types (it sizes SageMaker serverless capacity)"
)
MSG_SERVERLESS_PLACE = (
    "endpointType Serverless runs on SageMaker's serverless capacity, not on instances: remove "
    "instance (and pool), and size it with serverless.memoryMiB"
)
MSG_SERVERLESS_MEMORY = (
    "serverless.memoryMiB must be one of 1024, 2048, 3072, 4096, 5120 or 6144 (SageMaker "
    "serverless offers 1 to 6 GiB in 1 GiB steps)"
)
MSG_SERVERLESS_PROVISIONED = (
    "serverless.provisionedConcurrency must not exceed serverless.maxConcurrency"
)
MSG_SERVERLESS_GPU = (
    "endpointType Serverless runs on CPUs only (SageMaker serverless has no GPUs): set "
    "model.engine to "
    + " or ".join(engines.CPU_ENGINES)
    + " (it has a CPU image), or set model.image to a CPU image of your own"
)
MSG_SERVERLESS_VPC = (
    "aws.vpc cannot be used with endpointType Serverless: SageMaker serverless endpoints do "
    "not run in a VPC (use endpointType Model or InferenceComponent to reach a VPC)"
)
MSG_SERVERLESS_ADAPTERS = (
    "adapters cannot be used with endpointType Serverless: LoRA adapters are inference "
    "components, which serverless endpoints do not host"
)
MSG_SERVERLESS_RESOURCES = (
    "resources (copies and per-copy compute) cannot be used with endpointType Serverless: "
    "serverless capacity is sized by serverless.memoryMiB and serverless.maxConcurrency"
)
MSG_SERVERLESS_AUTOSCALING = (
    "autoscaling cannot be used with endpointType Serverless: SageMaker scales serverless "
    "capacity itself, up to serverless.maxConcurrency concurrent invocations"
)
MSG_SERVERLESS_ROLLOUT = (
    "rollout.strategy Rolling cannot be used with endpointType Serverless: SageMaker excludes "
    "serverless endpoints from rolling deployments; use AllAtOnce, Canary or Linear"
)
MSG_SERVERLESS_TP = (
    "model.tensorParallelDegree cannot be used with endpointType Serverless: serverless "
    "capacity has no GPUs to shard the model over"
)
MSG_SERVERLESS_FIT = (
    "the model does not fit serverless.memoryMiB: its weights (model.parametersBillions x 2 "
    "bytes at 16 bits, x 1 with 8-bit model.quantize, x 0.5 with 4-bit) must fit in the "
    "memory; 6144 MiB holds about 3 billion parameters at 16 bits. Raise serverless.memoryMiB, "
    "serve a smaller model, or use endpointType Model or InferenceComponent on an instance"
)
MSG_EMBEDDING_ADAPTERS = (
    "adapters cannot be used with model.engine tei: TEI serves embedding and reranker models "
    "without LoRA adapters"
)


class ServerlessSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "!has(self.provisionedConcurrency)"
                " || self.provisionedConcurrency <= self.maxConcurrency",
                MSG_SERVERLESS_PROVISIONED,
            ),
        )
    )

    memory_mib: int = Field(
        alias="memoryMiB",
        description=(
            "Memory of the serverless capacity in MiB: 1024, 2048, 3072, 4096, 5120 or 6144. "
            "SageMaker gives CPU in proportion; the model's weights must fit."
        ),
        ge=1024,
        le=6144,
        json_schema_extra=rules(
            cel(
                "self in [" + ", ".join(str(m) for m in SERVERLESS_MEMORY_MIB) + "]",
                MSG_SERVERLESS_MEMORY,
            )
        ),
    )
    max_concurrency: int = Field(
        description="Most invocations served at once (1-200); more are throttled.",
        ge=1,
        le=SERVERLESS_MAX_CONCURRENCY,
    )
    provisioned_concurrency: int | None = Field(
        None,
        description=(
            "Invocations kept warm (1-200, at most maxConcurrency): no cold start for them, "
            "billed while configured. Unset: none, every start after idle is cold."
        ),
        ge=1,
        le=SERVERLESS_MAX_CONCURRENCY,
    )

    @model_validator(mode="after")
    def _check(self) -> ServerlessSpec:
        if self.memory_mib not in SERVERLESS_MEMORY_MIB:
            raise ValueError(MSG_SERVERLESS_MEMORY)
        p = self.provisioned_concurrency
        if p is not None and p > self.max_concurrency:
            raise ValueError(MSG_SERVERLESS_PROVISIONED)
        return self


def _bytes_per_parameter_cel() -> str:
    """CEL for BYTES_PER_PARAMETER of self.model.quantize."""
    expression = "2.0"
    for name, size in sorted(BYTES_PER_PARAMETER.items(), key=lambda kv: str(kv[0])):
        if name is not None and size != 2.0:
            expression = f"(self.model.quantize == '{name}' ? {size} : {expression})"
    return f"(has(self.model.quantize) ? {expression} : 2.0)"


def _serverless_rules() -> list[dict[str, str]]:
    """CEL: what SageMaker serverless endpoints cannot do, each with its reason."""
    sl = "self.endpointType != 'Serverless'"
    cpu = ", ".join(f"'{e}'" for e in engines.CPU_ENGINES)
    return [
        cel(f"({sl}) != has(self.serverless)", MSG_SERVERLESS_BLOCK),
        cel(f"{sl} || (!has(self.instance) && !has(self.pool))", MSG_SERVERLESS_PLACE),
        cel(
            f"{sl} || (has(self.model.engine) && self.model.engine in [{cpu}])"
            " || (has(self.model.image) && self.model.image != '')"
            " || has(self.model.modelPackage)",
            MSG_SERVERLESS_GPU,
            messageExpression=(
                "'endpointType Serverless runs on CPUs only (SageMaker serverless has no GPUs) "
                "and model.engine ' + (has(self.model.engine) ? self.model.engine : 'vllm "
                "(the default)') + ' has GPU images only: set model.engine to "
                + " or ".join(engines.CPU_ENGINES)
                + ", or set model.image to a CPU image of your own'"
            ),
        ),
        cel(f"{sl} || !has(self.aws.vpc)", MSG_SERVERLESS_VPC),
        cel(f"{sl} || !has(self.adapters) || size(self.adapters) == 0", MSG_SERVERLESS_ADAPTERS),
        cel(f"{sl} || !has(self.resources)", MSG_SERVERLESS_RESOURCES),
        cel(f"{sl} || !has(self.autoscaling)", MSG_SERVERLESS_AUTOSCALING),
        cel(
            f"{sl} || !has(self.rollout) || self.rollout.strategy != 'Rolling'",
            MSG_SERVERLESS_ROLLOUT,
        ),
        cel(f"{sl} || !has(self.model.tensorParallelDegree)", MSG_SERVERLESS_TP),
        cel(
            f"{sl} || !has(self.serverless) || !has(self.model.parametersBillions)"
            f" || self.model.parametersBillions * {_bytes_per_parameter_cel()} * 1024.0"
            " <= double(self.serverless.memoryMiB)",
            MSG_SERVERLESS_FIT,
        ),
    ]


def _embedding_rules() -> list[dict[str, str]]:
    able = ", ".join(f"'{e}'" for e in engines.EMBEDDING_ENGINES)
    return [
        cel(
            f"!has(self.model.engine) || !(self.model.engine in [{able}])"
            " || !has(self.adapters) || size(self.adapters) == 0",
            MSG_EMBEDDING_ADAPTERS,
        )
    ]


def serverless_fit_problem(memory_mib: int, params: float, quantize: str | None) -> str | None:
    """Why a model of `params` billion parameters does not fit `memory_mib` (None: it fits)."""
    per = BYTES_PER_PARAMETER.get(quantize, 2.0)
    needed = params * per
    if needed * 1024 <= memory_mib:
        return None
    fits = [m for m in SERVERLESS_MEMORY_MIB if needed * 1024 <= m]
    what = (
        f"raise serverless.memoryMiB to {fits[0]}"
        if fits
        else "no serverless memory size holds it (6144 MiB at most): serve a smaller model, "
        "or use endpointType Model or InferenceComponent on an instance"
    )
    most = SERVERLESS_MEMORY_MIB[-1] / 1024 / per
    return (
        f"the model has about {params:g}B parameters: about {needed:.1f} GiB of weights at "
        f"{per:g} bytes per parameter, more than serverless.memoryMiB {memory_mib} holds; "
        f"{what} (6144 MiB holds about {most:g}B parameters at this precision)"
    )


def serverless_problems(spec: LLMEndpointSpec) -> list[str]:
    """The serverless CEL rules as the operator checks them (the same messages; the fit
    message says what would fit, which CEL cannot compute)."""
    if (spec.endpoint_type == "Serverless") != (spec.serverless is not None):
        return [MSG_SERVERLESS_BLOCK]
    if spec.serverless is None:
        return []
    m = spec.model
    checks = [
        (spec.instance is not None or spec.pool is not None, MSG_SERVERLESS_PLACE),
        (
            m.engine not in engines.CPU_ENGINES and not m.image and m.model_package is None,
            MSG_SERVERLESS_GPU,
        ),
        (spec.aws.vpc is not None, MSG_SERVERLESS_VPC),
        (bool(spec.adapters), MSG_SERVERLESS_ADAPTERS),
        (spec.resources is not None, MSG_SERVERLESS_RESOURCES),
        (spec.autoscaling is not None, MSG_SERVERLESS_AUTOSCALING),
        (spec.rollout is not None and spec.rollout.strategy == "Rolling", MSG_SERVERLESS_ROLLOUT),
        (m.tensor_parallel_degree is not None, MSG_SERVERLESS_TP),
    ]
    problems = [message for failed, message in checks if failed]
    if m.parameters_billions is not None:
        fit = serverless_fit_problem(spec.serverless.memory_mib, m.parameters_billions, m.quantize)
        if fit is not None:
            problems.append(fit)
    return problems


def embedding_problems(spec: LLMEndpointSpec) -> list[str]:
    if spec.model.engine in engines.EMBEDDING_ENGINES and spec.adapters:
        return [MSG_EMBEDDING_ADAPTERS]
    return []


# --- asynchronous endpoints (endpointType Async) -----------------------------------------
# SageMaker hosts asynchronous inference on one model variant (not on inference components):
# requests are queued, read from S3 and answered into S3 (botocore's AsyncInferenceConfig).
VARIANT_ENDPOINT_TYPES: tuple[str, ...] = ("Model", "Async")
ASYNC_MAX_CONCURRENT_INVOCATIONS = 1000  # botocore: MaxConcurrentInvocationsPerInstance
# botocore's DestinationS3Uri (at most 512 characters), narrowed to a bucket name.
ASYNC_S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?$"
SNS_TOPIC_ARN_PATTERN = (
    rf"^arn:{ARN_PARTITION_PATTERN}:sns:[a-z0-9-]+:[0-9]{{12}}:[A-Za-z0-9_-]{{1,256}}$"
)
MSG_ASYNC_BLOCK = (
    "spec.async is required with endpointType Async (SageMaker needs async.outputS3Uri, "
    "where it writes the answers) and refused with the other endpoint types"
)
MSG_ASYNC_S3 = "{field} must be an S3 location, s3://BUCKET/PREFIX/ (at most 512 characters)"
MSG_ASYNC_TOPIC = (
    "{field} must be an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:TOPIC (at most 256 "
    "characters in the name)"
)
MSG_ASYNC_SAME_PATH = (
    "async.failureS3Uri must differ from async.outputS3Uri: failures and answers would be "
    "indistinguishable"
)
MSG_ASYNC_PLACE = (
    "endpointType Async runs on instances of its own: set instance (a pool's endpoint hosts "
    "inference components, which SageMaker does not run asynchronously)"
)
MSG_ASYNC_RESOURCES = (
    "resources (copies and per-copy compute) cannot be used with endpointType Async: SageMaker "
    "hosts asynchronous inference on a model variant, not on inference components; size it "
    "with instance.count and async.maxConcurrentInvocationsPerInstance"
)
MSG_ASYNC_ADAPTERS = (
    "adapters cannot be used with endpointType Async: LoRA adapters are inference "
    "components, which SageMaker does not run asynchronously"
)
MSG_ASYNC_SCALING = (
    "instance.minCount and instance.maxCount (managed instance scaling of inference "
    "components) cannot be used with endpointType Async: set autoscaling.minReplicas and "
    "maxReplicas (minReplicas 0 scales to zero instances when the backlog is empty)"
)
MSG_ASYNC_METRIC = (
    "autoscaling.metric must be BacklogPerInstance with endpointType Async: its instances "
    "scale on the queued requests per instance (ApproximateBacklogSizePerInstance); "
    "ConcurrentRequests and Invocations measure real-time traffic"
)
MSG_BACKLOG_ASYNC = (
    "autoscaling.metric BacklogPerInstance applies to endpointType Async only: other "
    "endpoints have no backlog (use ConcurrentRequests or Invocations)"
)
MSG_COUNT_AUTOSCALED_ASYNC = (
    "instance.count is managed by spec.autoscaling while it is set on an endpointType "
    "Async endpoint: change autoscaling.minReplicas and maxReplicas, or remove autoscaling "
    "to set a fixed count"
)


def _s3_rules(field: str) -> dict[str, Any]:
    return rules(cel(f"self.matches(r'{ASYNC_S3_URI_PATTERN}')", MSG_ASYNC_S3.format(field=field)))


def _topic_rules(field: str) -> dict[str, Any]:
    return rules(
        cel(f"self.matches(r'{SNS_TOPIC_ARN_PATTERN}')", MSG_ASYNC_TOPIC.format(field=field))
    )


class AsyncSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "!has(self.failureS3Uri) || self.failureS3Uri != self.outputS3Uri",
                MSG_ASYNC_SAME_PATH,
            ),
        )
    )

    output_s3_uri: str = Field(
        alias="outputS3Uri",
        description=(
            "Where SageMaker writes each answer (S3OutputPath), as <outputS3Uri>/<id>.out; "
            "`llm-operator invoke --async` uploads requests under <outputS3Uri>/requests/."
        ),
        min_length=8,
        max_length=512,
        json_schema_extra=_s3_rules("async.outputS3Uri"),
    )
    failure_s3_uri: str | None = Field(
        None,
        alias="failureS3Uri",
        description=(
            "Where SageMaker writes the error of a failed request (S3FailurePath). Unset: "
            "failures are reported by the error topic and CloudWatch only."
        ),
        min_length=8,
        max_length=512,
        json_schema_extra=_s3_rules("async.failureS3Uri"),
    )
    success_topic_arn: str | None = Field(
        None,
        description="SNS topic notified of each answer (NotificationConfig.SuccessTopic).",
        max_length=2048,
        json_schema_extra=_topic_rules("async.successTopicArn"),
    )
    error_topic_arn: str | None = Field(
        None,
        description="SNS topic notified of each failure (NotificationConfig.ErrorTopic).",
        max_length=2048,
        json_schema_extra=_topic_rules("async.errorTopicArn"),
    )
    max_concurrent_invocations_per_instance: int | None = Field(
        None,
        description=(
            "Requests one instance works on at once (ClientConfig, 1-1000). Unset: "
            "SageMaker's choice for the container."
        ),
        ge=1,
        le=ASYNC_MAX_CONCURRENT_INVOCATIONS,
    )

    @model_validator(mode="after")
    def _check(self) -> AsyncSpec:
        for field, value in (
            ("async.outputS3Uri", self.output_s3_uri),
            ("async.failureS3Uri", self.failure_s3_uri),
        ):
            if value is not None and not re.match(ASYNC_S3_URI_PATTERN, value):
                raise ValueError(MSG_ASYNC_S3.format(field=field))
        for field, value in (
            ("async.successTopicArn", self.success_topic_arn),
            ("async.errorTopicArn", self.error_topic_arn),
        ):
            if value is not None and not re.match(SNS_TOPIC_ARN_PATTERN, value):
                raise ValueError(MSG_ASYNC_TOPIC.format(field=field))
        if self.failure_s3_uri is not None and self.failure_s3_uri == self.output_s3_uri:
            raise ValueError(MSG_ASYNC_SAME_PATH)
        return self


def _async_rules() -> list[dict[str, str]]:
    """CEL: what an asynchronous endpoint needs and cannot take, each with its reason."""
    na = "self.endpointType != 'Async'"
    return [
        cel(f"({na}) != has(self.async)", MSG_ASYNC_BLOCK),
        cel(f"{na} || has(self.instance)", MSG_ASYNC_PLACE),
        cel(f"{na} || !has(self.resources)", MSG_ASYNC_RESOURCES),
        cel(f"{na} || !has(self.adapters) || size(self.adapters) == 0", MSG_ASYNC_ADAPTERS),
        cel(
            f"{na} || !has(self.instance)"
            " || (!has(self.instance.minCount) && !has(self.instance.maxCount))",
            MSG_ASYNC_SCALING,
        ),
        cel(
            f"{na} || !has(self.autoscaling) || self.autoscaling.metric == 'BacklogPerInstance'",
            MSG_ASYNC_METRIC,
        ),
        cel(
            "self.endpointType == 'Async' || !has(self.autoscaling)"
            " || self.autoscaling.metric != 'BacklogPerInstance'",
            MSG_BACKLOG_ASYNC,
        ),
        cel(
            f"{na} || !has(self.autoscaling) || !has(oldSelf.autoscaling)"
            " || !has(self.instance) || !has(oldSelf.instance)"
            " || self.instance.count == oldSelf.instance.count",
            MSG_COUNT_AUTOSCALED_ASYNC,
        ),
    ]


# --- spec.routing: how SageMaker routes requests among instances and copies ---------

RoutingStrategyName = Literal["LeastOutstandingRequests", "Random", "PrefixAware", "KVAware"]
DEFAULT_ROUTING: RoutingStrategyName = "LeastOutstandingRequests"
# spec.routing.strategy -> the variant's RoutingConfig.RoutingStrategy (botocore's enum).
ROUTING_STRATEGIES: dict[str, str] = {
    "LeastOutstandingRequests": "LEAST_OUTSTANDING_REQUESTS",
    "Random": "RANDOM",
    "PrefixAware": "PREFIX_AWARE",
    "KVAware": "KV_AWARE",
}
# Strategies that route by what an engine keeps in its prefix (KV) cache.
CACHE_ROUTING: tuple[str, ...] = ("PrefixAware", "KVAware")
# PrefixAwareRoutingConfig when routing.prefixLength / concurrencyThreshold are unset:
# 4096 bytes (characters for OpenAI-style requests) cover a long system prompt and the
# start of what follows it; 32 requests in flight on one copy before the next is chosen.
DEFAULT_PREFIX_LENGTH = 4096
DEFAULT_CONCURRENCY_THRESHOLD = 32
MSG_ROUTING_POOL = (
    "routing is the pool's: an LLMEndpoint on a pool routes as its LLMEndpointPool's "
    "spec.routing says; remove spec.routing"
)
MSG_ROUTING_SERVERLESS = (
    "routing applies to endpoints on instances: serverless capacity routes by itself; "
    "remove spec.routing"
)
MSG_ROUTING_PACKAGE = (
    "routing.strategy PrefixAware and KVAware switch the engine's prefix cache on, and a "
    "model package brings its own container the operator cannot configure: use "
    "LeastOutstandingRequests or Random, or serve the model by hfModelId or artifactUri"
)
MSG_ROUTING_PREFIX_ONLY = (
    "routing.prefixLength and routing.concurrencyThreshold apply to strategy PrefixAware only"
)


class RoutingSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "self.strategy == 'PrefixAware'"
                " || (!has(self.prefixLength) && !has(self.concurrencyThreshold))",
                MSG_ROUTING_PREFIX_ONLY,
            )
        )
    )

    strategy: RoutingStrategyName = Field(
        DEFAULT_ROUTING,
        description=(
            "How SageMaker routes requests: LeastOutstandingRequests (default) to the "
            "instance or copy with the fewest in flight; Random; PrefixAware, requests "
            "that start the same way to the same copy; KVAware, to the copy whose KV "
            "cache holds the start of the prompt. PrefixAware and KVAware need an engine "
            "that keeps a prefix cache (docs/engines.md), whose cache is switched on."
        ),
    )
    prefix_length: int | None = Field(
        None,
        description=(
            "PrefixAware: how much of the request decides the copy (bytes of the body; "
            f"characters of the messages for OpenAI-style requests). Default "
            f"{DEFAULT_PREFIX_LENGTH}."
        ),
        ge=1024,
        le=65536,
    )
    concurrency_threshold: int | None = Field(
        None,
        description=(
            "PrefixAware: requests in flight on the chosen copy before the next request "
            f"goes to another. Default {DEFAULT_CONCURRENCY_THRESHOLD}."
        ),
        ge=1,
        le=1024,
    )

    @model_validator(mode="after")
    def _check(self) -> RoutingSpec:
        tuned = self.prefix_length is not None or self.concurrency_threshold is not None
        if tuned and self.strategy != "PrefixAware":
            raise ValueError(MSG_ROUTING_PREFIX_ONLY)
        return self

    @property
    def uses_cache(self) -> bool:
        return self.strategy in CACHE_ROUTING


def _routing_rules() -> list[dict[str, str]]:
    able = ", ".join(f"'{e}'" for e in engines.PREFIX_CACHE_ENGINES)
    reasons = ", ".join(f"'{e}': '{r}'" for e, r in engines.NO_PREFIX_CACHE.items())
    cache = "has(self.routing) && self.routing.strategy in ['PrefixAware', 'KVAware']"
    return [
        cel("!has(self.routing) || !has(self.pool)", MSG_ROUTING_POOL),
        cel("!has(self.routing) || self.endpointType != 'Serverless'", MSG_ROUTING_SERVERLESS),
        cel(f"!({cache}) || !has(self.model.modelPackage)", MSG_ROUTING_PACKAGE),
        cel(
            f"!({cache}) || !has(self.model.engine) || self.model.engine in [{able}]",
            "routing.strategy PrefixAware and KVAware need an engine that keeps a prefix (KV) "
            f"cache ({', '.join(engines.PREFIX_CACHE_ENGINES)}; see docs/engines.md)",
            messageExpression=(
                "'routing.strategy ' + self.routing.strategy + ' needs an engine that keeps "
                f"a prefix (KV) cache ({', '.join(engines.PREFIX_CACHE_ENGINES)}); engine ' "
                f"+ self.model.engine + ': ' + {{{reasons}}}[self.model.engine]"
            ),
        ),
    ]


def async_problems(spec: LLMEndpointSpec) -> list[str]:
    """The async CEL rules as the operator checks them (the same messages)."""
    is_async = spec.endpoint_type == "Async"
    if is_async != (spec.async_inference is not None):
        return [MSG_ASYNC_BLOCK]
    auto = spec.autoscaling
    if not is_async:
        backlog = auto is not None and auto.metric == "BacklogPerInstance"
        return [MSG_BACKLOG_ASYNC] if backlog else []
    checks = [
        (spec.instance is None, MSG_ASYNC_PLACE),
        (spec.resources is not None, MSG_ASYNC_RESOURCES),
        (bool(spec.adapters), MSG_ASYNC_ADAPTERS),
        (spec.instance is not None and bool(spec.instance.scaling), MSG_ASYNC_SCALING),
        (auto is not None and auto.metric != "BacklogPerInstance", MSG_ASYNC_METRIC),
    ]
    return [message for failed, message in checks if failed]


def routing_problems(spec: LLMEndpointSpec) -> list[str]:
    """The routing CEL rules as the operator checks them (the same messages)."""
    routing = spec.routing
    if routing is None:
        return []
    if spec.pool is not None:
        return [MSG_ROUTING_POOL]
    if spec.endpoint_type == "Serverless":
        return [MSG_ROUTING_SERVERLESS]
    if not routing.uses_cache:
        return []
    if spec.model.model_package is not None:
        return [MSG_ROUTING_PACKAGE]
    engine = spec.model.engine
    if engine is not None and engine not in engines.PREFIX_CACHE_ENGINES:
        return [engines.msg_no_prefix_cache(engine, routing.strategy)]
    return []


class LLMEndpointSpec(_Spec):
    model_config = ConfigDict(
        json_schema_extra=rules(
            cel(
                "self.endpointType == 'Serverless' || has(self.instance) != has(self.pool)",
                MSG_INSTANCE_OR_POOL,
            ),
            cel("!has(self.pool) || self.endpointType == 'InferenceComponent'", MSG_POOL_IC),
            cel("has(self.pool) || !has(oldSelf.pool)", MSG_POOL_MOVE),
            cel(
                "!has(self.pool) || !has(oldSelf.pool) || self.pool == oldSelf.pool", MSG_POOL_MOVE
            ),
            cel(
                "self.endpointType != 'Model' || !has(self.adapters) || size(self.adapters) == 0",
                MSG_ADAPTERS_MODEL,
            ),
            cel("self.endpointType != 'Model' || !has(self.resources)", MSG_RESOURCES_MODEL),
            cel(
                "self.endpointType != 'Model'"
                " || (!has(self.instance.minCount) && !has(self.instance.maxCount))",
                MSG_SCALING_MODEL,
            ),
            cel(
                "!has(self.model.tensorParallelDegree) || !has(self.resources)"
                " || self.model.tensorParallelDegree <= self.resources.acceleratorsPerCopy"
                " || !has(self.instance)"
                " || self.instance.type.startsWith('ml.inf')"
                " || self.instance.type.startsWith('ml.trn')",
                MSG_TP_COPY,
            ),
            cel(
                "self.endpointType != 'InferenceComponent' || !has(self.rollout)"
                " || self.rollout.strategy == 'Rolling'",
                MSG_ROLLOUT_IC,
            ),
            _neuron_engine_rule(),
            cel(
                "self.endpointType != 'Model' || !has(self.autoscaling)"
                " || self.autoscaling.minReplicas >= 1",
                MSG_ZERO_MODEL,
            ),
            # Also what refuses `kubectl scale` (the scale subresource writes
            # resources.copies) while autoscaling owns the count.
            cel(
                "!has(self.autoscaling) || !has(oldSelf.autoscaling)"
                " || (has(self.resources) ? self.resources.copies : 1)"
                " == (has(oldSelf.resources) ? oldSelf.resources.copies : 1)",
                MSG_SCALE_AUTOSCALED,
            ),
            cel(
                "self.endpointType != 'Model' || !has(self.autoscaling)"
                " || !has(oldSelf.autoscaling) || self.instance.count == oldSelf.instance.count",
                MSG_COUNT_AUTOSCALED,
            ),
            *_serverless_rules(),
            *_embedding_rules(),
            *_async_rules(),
            *_routing_rules(),
        )
    )

    model: ModelSpec = Field(description="The model to serve and its container settings.")
    instance: InstanceSpec | None = Field(
        None,
        description=(
            "The instances the endpoint runs on. Exactly one of instance (an endpoint of "
            "its own) and pool (a place on an LLMEndpointPool's endpoint)."
        ),
    )
    pool: PoolRef | None = Field(
        None,
        description=(
            "Place the model on an LLMEndpointPool's endpoint (as inference components "
            "this LLMEndpoint owns) instead of an endpoint of its own. Immutable."
        ),
    )
    endpoint_type: EndpointTypeName = Field(
        "InferenceComponent",
        description=(
            "InferenceComponent (default): an instance pool with the model as an "
            "inference component with copies, plus one component per adapter. Model: "
            "a classic production variant serving one model. Serverless: SageMaker "
            "serverless capacity (CPU only, billed per use), sized by spec.serverless. "
            "Async: a production variant answering queued requests from S3 into S3 "
            "(spec.async), scaling to zero instances when idle. Immutable."
        ),
        json_schema_extra=rules(cel("self == oldSelf", MSG_TYPE_IMMUTABLE)),
    )
    resources: ResourcesSpec | None = Field(
        None,
        description=(
            "Copies and compute per copy (InferenceComponent endpoints). Unset: one "
            "copy with 1 accelerator, 1 vCPU and 4096 MiB."
        ),
    )
    adapters: list[AdapterSpec] = Field(
        default_factory=list,
        description="LoRA adapters served on the base model (InferenceComponent endpoints).",
        max_length=MAX_ADAPTERS,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    autoscaling: AutoscalingSpec | None = Field(
        None,
        description=(
            "Application Auto Scaling of the copies (InferenceComponent) or instances "
            "(Model) by target tracking. While set, resources.copies (or instance.count) "
            "is only the initial count and the operator leaves SageMaker's count alone "
            "inside [minReplicas, maxReplicas]. Removing it returns to the fixed count."
        ),
    )
    aws: AwsSpec = Field(description="Where and as whom the SageMaker resources run.")
    rollout: RolloutSpec | None = Field(
        None,
        description=(
            "Guarded updates (SageMaker deployment guardrails): how a spec change rolls "
            "out, and the alarms that roll it back. Unset: every change at once, unguarded."
        ),
    )
    serverless: ServerlessSpec | None = Field(
        None,
        description=(
            "endpointType Serverless: the memory and concurrency of SageMaker serverless "
            "capacity (CPU only, billed per use; docs/serverless.md). Required with it, "
            "refused with the other types."
        ),
    )
    # --- asynchronous endpoints (endpointType Async) ---
    async_inference: AsyncSpec | None = Field(
        None,
        alias="async",
        description=(
            "endpointType Async: where SageMaker writes answers and failures, the SNS "
            "topics it notifies, and requests per instance at once (docs/async.md). "
            "Required with it, refused with the other types."
        ),
    )
    deletion_policy: DeletionPolicy = Field(
        "Delete",
        description=(
            "Delete (default): remove the SageMaker resources with the LLMEndpoint. "
            "Retain: leave them running."
        ),
    )
    routing: RoutingSpec | None = Field(
        None,
        description=(
            "How SageMaker routes requests among the instances and copies (endpoints on "
            "instances of their own; docs/serving.md). Unset: LeastOutstandingRequests."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> LLMEndpointSpec:
        problems = (
            serverless_problems(self)
            + embedding_problems(self)
            + async_problems(self)
            + routing_problems(self)
        )
        if problems:
            raise ValueError(problems[0])
        if self.endpoint_type == "Serverless":
            return self._check_names()
        if (self.instance is None) == (self.pool is None):
            raise ValueError(MSG_INSTANCE_OR_POOL)
        if self.pool is not None and self.endpoint_type != "InferenceComponent":
            raise ValueError(MSG_POOL_IC)
        if self.instance is None:
            return self._check_names()
        if self.endpoint_type == "Model":
            if self.adapters:
                raise ValueError(MSG_ADAPTERS_MODEL)
            if self.resources is not None:
                raise ValueError(MSG_RESOURCES_MODEL)
            if self.instance.scaling:
                raise ValueError(MSG_SCALING_MODEL)
            if self.autoscaling is not None and self.autoscaling.min_replicas == 0:
                raise ValueError(MSG_ZERO_MODEL)
        elif (
            self.endpoint_type == "InferenceComponent"
            and self.rollout is not None
            and self.rollout.strategy != "Rolling"
        ):
            raise ValueError(MSG_ROLLOUT_IC)
        tp = self.model.tensor_parallel_degree
        res = self.resources
        neuron = self.instance.type.startswith(NEURON_TYPE_PREFIXES)
        if tp is not None and res is not None and tp > res.accelerators_per_copy and not neuron:
            raise ValueError(MSG_TP_COPY)
        engine = self.model.engine
        if (
            engine is not None
            and engine not in engines.NEURON_ENGINES
            and not self.model.image
            and self.instance.type.startswith(tuple(_neuron_types()))
        ):
            raise ValueError(
                f"model.engine {engine} has no AWS container for {self.instance.type} "
                f"(Inferentia): use engine {' or '.join(engines.NEURON_ENGINES)}, a GPU "
                "instance type, or set model.image to a Neuron image of your own"
            )
        return self._check_names()

    def _check_names(self) -> LLMEndpointSpec:
        names = [a.name for a in self.adapters]
        if len(names) != len(set(names)):
            raise ValueError("adapter names must be unique")
        return self

    @property
    def effective_resources(self) -> ResourcesSpec:
        return self.resources or ResourcesSpec()

    @property
    def effective_routing(self) -> RoutingSpec:
        return self.routing or RoutingSpec()

    @property
    def instance_spec(self) -> InstanceSpec:
        """spec.instance, or the pool's instances once rendering put them there."""
        if self.instance is None:
            raise ValueError("spec.pool: the pool's instances are not known here")
        return self.instance


# --- status -----------------------------------------------------------------


class Condition(_Status):
    type: str = Field(description="Ready, Progressing or Degraded.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str | None = Field(None, description="CamelCase reason for the last transition.")
    message: str | None = Field(None, description="What happened, for a person.")
    last_transition_time: str | None = Field(
        None,
        description="When status last changed (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        None, description="metadata.generation this condition was computed for."
    )


class Counts(_Status):
    desired: int | None = Field(None, description="What the spec asks for.")
    current: int | None = Field(None, description="What SageMaker runs now.")


class ComponentStatus(_Status):
    name: str = Field(description="SageMaker inference component name.")
    status: str | None = Field(None, description="SageMaker's InferenceComponentStatus.")
    copies: Counts | None = Field(None, description="Desired and current copy count.")


class AdapterStatus(_Status):
    name: str = Field(description="Adapter name from spec.adapters.")
    component_name: str | None = Field(None, description="Its inference component's name.")
    status: str | None = Field(None, description="SageMaker's InferenceComponentStatus.")


class PendingRolloutStatus(_Status):
    generation: int | None = Field(
        None, description="metadata.generation of the spec waiting to roll out."
    )
    target: str | None = Field(
        None, description="What it will roll out: the endpoint config or the component's version."
    )


class RolloutStatus(_Status):
    phase: RolloutPhase | None = Field(
        None, description="InProgress, Baking, Succeeded, RolledBack or Failed."
    )
    generation: int | None = Field(
        None, description="metadata.generation of the spec being (or last) rolled out."
    )
    strategy: RolloutStrategy | None = Field(None, description="spec.rollout.strategy used.")
    target: str | None = Field(
        None, description="What is rolled out: the endpoint config or the component's version."
    )
    step: str | None = Field(
        None, description="The current step as SageMaker reports it (traffic or batch progress)."
    )
    alarm: str | None = Field(None, description="The alarm that rolled the update back.")
    message: str | None = Field(None, description="What happened, for a person.")
    start_time: str | None = Field(
        None,
        description="When the rollout started (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    end_time: str | None = Field(
        None, description="When it ended (RFC 3339).", json_schema_extra={"format": "date-time"}
    )
    pending: PendingRolloutStatus | None = Field(
        None,
        description=(
            "A newer spec generation applied while this rollout runs: SageMaker takes one "
            "update at a time, so it starts once this one ends."
        ),
    )


class AdoptedStatus(_Status):
    endpoint: str = Field(description="The existing endpoint this LLMEndpoint adopted.")
    endpoint_configs: list[str] = Field(
        default_factory=list, description="Its endpoint config when adopted."
    )
    models: list[str] = Field(default_factory=list, description="Models it used when adopted.")
    inference_components: list[str] = Field(
        default_factory=list, description="Inference components it had when adopted."
    )
    completed: bool = Field(
        False,
        description=(
            "True once the endpoint served the operator's own endpoint config; until then "
            "deleting the LLMEndpoint leaves what was adopted and removes its ownership tags."
        ),
    )


class ScalingActivityStatus(_Status):
    description: str = Field(description="What Application Auto Scaling did, in its words.")
    status: str | None = Field(None, description="Its StatusCode, e.g. Successful.")
    start_time: str | None = Field(None, description="When it started (RFC 3339).")


class AutoscalingStatus(_Status):
    min_replicas: int | None = Field(
        None,
        description=(
            "The range's floor as Application Auto Scaling holds it (the scalable "
            "target's MinCapacity, what the autoscaler obeys); unset until the target is "
            "registered. It differs from spec.autoscaling.minReplicas when someone changed "
            "the target by hand, until the operator registers the spec's range again (at "
            "the next resync)."
        ),
    )
    max_replicas: int | None = Field(
        None,
        description=(
            "The range's ceiling as Application Auto Scaling holds it (the scalable "
            "target's MaxCapacity); unset until the target is registered."
        ),
    )
    desired_replicas: int | None = Field(
        None, description="Copies (or instances) SageMaker is asked for now, by the autoscaler."
    )
    current_replicas: int | None = Field(None, description="Copies (or instances) running now.")
    scaled_to_zero: bool = Field(False, description="No copy runs: idle, scaled to zero.")
    last_scaling_activity: ScalingActivityStatus | None = Field(
        None, description="The newest activity DescribeScalingActivities reports."
    )


class AwsStatus(_Status):
    last_contact_time: str | None = Field(
        None,
        description=(
            "While AWS does not answer (condition Progressing with reason AwsUnreachable): "
            "when SageMaker last answered the operator in this LLMEndpoint's account and "
            "region (RFC 3339); unset when it has not since the operator started. "
            "Removed once it answers again."
        ),
        json_schema_extra={"format": "date-time"},
    )


class AppliedPolicyValue(_Status):
    field: str = Field(description="Spec path the policy filled in, e.g. rollout, aws.tags.team.")
    value: str = Field(description="The value in effect (JSON for a block).")
    policy: str = Field(description="The LLMEndpointPolicy that set it.")
    enforced: bool = Field(False, description="An enforced tag: the tenant cannot change it.")


class PolicyStatus(_Status):
    governed_by: list[str] = Field(
        default_factory=list, description="The LLMEndpointPolicies governing the namespace."
    )
    applied: list[AppliedPolicyValue] = Field(
        default_factory=list,
        description=(
            "Values the policies put into the effective spec (defaults where the spec left "
            "a field unset, enforced tags); the stored spec is never changed."
        ),
    )
    admitted: bool = Field(
        False, description="Counted against the namespace's budget at ceilingCostPerHourUSD."
    )
    ceiling_cost_per_hour_usd: str | None = Field(
        None,
        alias="ceilingCostPerHourUSD",
        description="On-demand USD per hour at this LLMEndpoint's ceiling, as admitted.",
    )
    budget_left: list[str] = Field(
        default_factory=list,
        description="Per budget, what was left in the namespace once this one was admitted.",
    )
    price_date: str | None = Field(None, description="Date of the catalog's prices.")


class PoolPlacementStatus(_Status):
    admitted: bool = Field(False, description="Placed on its pool (its ceiling fits).")
    pool: str | None = Field(None, description="The pool, namespace/name.")
    copies: int = Field(0, description="Copies at the ceiling it was admitted with.")
    accelerators_per_copy: int = Field(0, description="Accelerators per copy admitted.")
    cpus_per_copy: float = Field(0, description="vCPUs per copy admitted.")
    memory_mib_per_copy: int = Field(
        0, alias="memoryMiBPerCopy", description="Memory (MiB) per copy admitted."
    )
    admitted_at: str | None = Field(
        None, description="When it was admitted (RFC 3339): the order copies are packed in."
    )


class ModelPackageStatus(_Status):
    group: str | None = Field(None, description="The model package group (unset for an ARN).")
    version: int | None = Field(
        None, description="The version served (or being rolled out); shown by -o wide."
    )
    arn: str | None = Field(None, description="The model package's ARN.")
    approval: str | None = Field(
        None, description="Its ModelApprovalStatus as last read (Approved, Rejected, ...)."
    )
    approved_at: str | None = Field(
        None, description="When it was last approved or changed in the registry (RFC 3339)."
    )
    not_retried: list[int] = Field(
        default_factory=list,
        description=(
            "Versions an alarm rolled back: not rolled out again until a newer version is approved."
        ),
    )


class ServerlessCapacityStatus(_Status):
    memory_mib: int | None = Field(
        None, alias="memoryMiB", description="Memory of the serverless capacity (MiB)."
    )
    max_concurrency: int | None = Field(None, description="Most invocations served at once.")
    provisioned_concurrency: int | None = Field(
        None, description="Invocations kept warm (no cold start)."
    )


class ServerlessStatus(ServerlessCapacityStatus):
    current: ServerlessCapacityStatus | None = Field(
        None,
        description=(
            "What SageMaker serves now (the endpoint's CurrentServerlessConfig); differs from "
            "the fields above while a new config rolls out."
        ),
    )
    billing: str | None = Field(
        None,
        description=(
            "How it costs: per use (compute time and data processed), not per hour, so "
            "estimatedHourlyCostUSD stays unset."
        ),
    )


class AsyncStatus(_Status):
    """endpointType Async: where answers and failures go (the endpoint config's)."""

    output_s3_uri: str | None = Field(
        None, alias="outputS3Uri", description="Where SageMaker writes answers."
    )
    failure_s3_uri: str | None = Field(
        None, alias="failureS3Uri", description="Where SageMaker writes failures."
    )
    success_topic_arn: str | None = Field(None, description="SNS topic notified of answers.")
    error_topic_arn: str | None = Field(None, description="SNS topic notified of failures.")
    max_concurrent_invocations_per_instance: int | None = Field(
        None, description="Requests one instance works on at once."
    )


class LLMEndpointStatus(_Status):
    phase: Phase | None = Field(
        None, description="Pending, Creating, Updating, InService, Failed or Deleting."
    )
    observed_generation: int | None = Field(
        None, description="metadata.generation the operator last acted on."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, Progressing and Degraded conditions.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    endpoint_name: str | None = Field(None, description="SageMaker endpoint name.")
    endpoint_arn: str | None = Field(None, description="SageMaker endpoint ARN.")
    endpoint_config_name: str | None = Field(
        None, description="Endpoint config the endpoint runs (or is moving to)."
    )
    model_name: str | None = Field(None, description="SageMaker model name.")
    model_source: str | None = Field(
        None,
        description=(
            "spec.model.hfModelId, artifactUri or modelPackage (group:version or ARN); "
            "shown by kubectl get."
        ),
    )
    model: ModelPackageStatus | None = Field(
        None,
        description="spec.model.modelPackage: the package version the operator serves.",
    )
    engine: Engine | None = Field(
        None,
        description=(
            "Serving engine the model runs; what an unset spec.model.engine keeps "
            "(the operator never switches a running endpoint's engine on its own)."
        ),
    )
    inference_components: list[ComponentStatus] = Field(
        default_factory=list, description="Base and adapter inference components."
    )
    adapters: list[AdapterStatus] = Field(
        default_factory=list, description="Each adapter and its inference component."
    )
    sagemaker_status: str | None = Field(None, description="SageMaker's EndpointStatus.")
    copies: Counts | None = Field(None, description="Base model copies, desired and current.")
    copies_summary: str | None = Field(
        None, description="copies as current/desired, e.g. 3/4; shown by kubectl get."
    )
    instances: Counts | None = Field(None, description="Instances, desired and current.")
    replicas: int | None = Field(
        None,
        description=(
            "Copies (InferenceComponent) or instances (Model) running now: the scale "
            "subresource's status.replicas."
        ),
    )
    selector: str | None = Field(
        None,
        description=(
            "Label selector of the scale subresource (llmoperator.io/name=NAME, the key of "
            "the ownership tag on this LLMEndpoint's SageMaker resources). It matches no "
            "pods, since none run here: a HorizontalPodAutoscaler needs it to exist and can "
            "drive copies only from External or Object metrics."
        ),
    )
    autoscaling: AutoscalingStatus | None = Field(
        None, description="spec.autoscaling as Application Auto Scaling runs it; unset without."
    )
    invocation_url: str | None = Field(None, description="HTTPS URL of InvokeEndpoint.")
    estimated_hourly_cost_usd: str | None = Field(
        None,
        alias="estimatedHourlyCostUSD",
        description=(
            "On-demand cost of the current instances in USD per hour, from the "
            "operator's dated price table; unset when the price is unknown."
        ),
    )
    failure_reason: str | None = Field(None, description="SageMaker's FailureReason, if any.")
    aws: AwsStatus | None = Field(
        None, description="Set while AWS does not answer; see AwsStatus.lastContactTime."
    )
    rollout: RolloutStatus | None = Field(
        None, description="The current or last guarded rollout (spec.rollout)."
    )
    adopted: AdoptedStatus | None = Field(
        None,
        description=(
            "What the operator adopted (annotation llmoperator.io/adopt-endpoint): tagged as "
            "this LLMEndpoint's and from then on reconciled and replaced like its own; deleted "
            "with it only once the adoption completed."
        ),
    )
    pool: PoolPlacementStatus | None = Field(
        None, description="spec.pool: its admission onto the pool (written by the operator)."
    )
    policy: PolicyStatus | None = Field(
        None,
        description=(
            "What the LLMEndpointPolicies governing the namespace did to this LLMEndpoint: "
            "values they filled in, and its place in the namespace's budget."
        ),
    )
    serverless: ServerlessStatus | None = Field(
        None, description="endpointType Serverless: its capacity and how it is billed."
    )
    async_inference: AsyncStatus | None = Field(
        None,
        alias="async",
        description="endpointType Async: where answers and failures are written.",
    )
    plan_memory: dict[str, Any] | None = Field(
        None,
        description=(
            "The planner's memory between reconciles (updates in flight, failures not to "
            "retry); operator bookkeeping, not for people."
        ),
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    kopf: dict[str, Any] | None = Field(
        None,
        description="The operator framework's own progress records (kopf); not for people.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )


def copies_summary(current: int | None, desired: int | None) -> str:
    """The COPIES column: "3/4"; an unknown side shows as "-"."""
    c = "-" if current is None else str(current)
    d = "-" if desired is None else str(desired)
    return f"{c}/{d}"
