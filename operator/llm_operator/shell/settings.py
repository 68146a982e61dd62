"""Operator settings from the environment (prefix ``LLMOP_``).

One pydantic-settings model is the single source of truth: the operator reads
it at start-up and ``render_markdown`` generates docs/configuration.md from it,
so the documentation cannot drift from the code.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "LLMOP_"


class OperatorSettings(BaseSettings):
    """Everything an operator replica can be tuned with."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Comma-separated namespaces to watch. Empty watches all namespaces "
            "(cluster-wide RBAC needed)."
        ),
    )
    resync_seconds: float = Field(
        default=300.0,
        gt=0,
        description=(
            "How often a steady (settled) LLMEndpoint is compared with SageMaker to "
            "catch drift, such as an endpoint deleted or changed in the console."
        ),
    )
    transition_poll_seconds: float = Field(
        default=15.0,
        gt=0,
        description=(
            "How often an LLMEndpoint is polled while SageMaker is creating, updating "
            "or deleting something. Also the maximum age of the shared per-region "
            "List inventory. SageMaker throttles below about 5 s."
        ),
    )
    metrics_port: int = Field(
        default=9090,
        ge=0,
        le=65535,
        description="Port of the Prometheus metrics endpoint (`/metrics`). 0 disables it.",
    )
    health_port: int = Field(
        default=8080,
        ge=0,
        le=65535,
        description="Port of the liveness endpoint `/healthz` (used by `llm-operator run`).",
    )
    aws_calls_per_second: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Client-side rate limit of SageMaker API calls, per AWS account and region "
            "(retries included), so that one replica never triggers SageMaker throttling."
        ),
    )
    aws_burst: int = Field(
        default=20,
        ge=1,
        description="Token-bucket size of the rate limit: calls allowed at once after a pause.",
    )
    aws_connect_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds to wait for a connection to an AWS endpoint. A call that cannot "
            "connect is retried (botocore's standard mode), then reported as "
            "`AwsUnreachable` (docs/troubleshooting.md)."
        ),
    )
    aws_read_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds to wait for an AWS endpoint's answer once connected. SageMaker's "
            "control plane answers in well under a second; a call that hangs is retried "
            "(botocore's standard mode), then reported as `AwsUnreachable`."
        ),
    )
    workers: int = Field(
        default=16,
        ge=1,
        description=(
            "Threads running blocking boto3 calls; also the HTTP connection pool size "
            "per region. Bounds the AWS calls in flight."
        ),
    )
    peering: str = Field(
        default="",
        description=(
            "Name of the kopf peering object shared by replicas (only one replica "
            "reconciles at a time). Empty runs standalone, without peering."
        ),
    )
    default_region: str = Field(
        default="us-east-1",
        description=(
            "AWS region assumed for an LLMEndpoint whose spec names none (the CRD "
            "requires spec.aws.region, so only objects stored before it did), e.g. to "
            "find its resources when it is deleted."
        ),
    )
    cluster_name: str = Field(
        default="",
        max_length=40,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$",
        description=(
            "This cluster's identity (a DNS label), written into every resource's ownership "
            "tags (`llmoperator.io/cluster`) and mixed into every derived name, so two "
            "clusters sharing an AWS account never derive the same names. Must differ "
            "between clusters that share an account. Empty (the default) keeps the names "
            "and tags of resources created before cluster identities existed; set it "
            "only on a cluster whose operator has not created resources yet, or on a second "
            "cluster, since a new identity derives new names."
        ),
    )
    namespace_roles: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description=(
            "Comma-separated `namespace=roleArn` pairs: the IAM role the operator assumes "
            "for the LLMEndpoints of a namespace. The Namespace annotation "
            "`llmoperator.io/aws-role-arn` overrides it; a namespace in neither uses the "
            "operator's own credentials."
        ),
    )
    allow_adoption: bool = Field(
        default=False,
        description=(
            "Honour the annotation `llmoperator.io/adopt-endpoint` in namespaces no "
            "LLMEndpointPolicy governs. Where policies govern, adoption needs every one of "
            "them to set `limits.allowAdoption`; refused adoptions are Degraded "
            "`AdoptionNotAllowed` and nothing is tagged."
        ),
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log line format: `text` for people, `json` for log pipelines.",
    )

    @field_validator("namespace_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            namespace, sep, role = part.partition("=")
            if not sep or not namespace.strip() or not role.strip():
                raise ValueError(f"{part.strip()!r} is not namespace=roleArn")
            pairs[namespace.strip()] = role.strip()
        return pairs

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def _default_text(name: str) -> str:
    field = OperatorSettings.model_fields[name]
    default = field.get_default(call_default_factory=True)
    if isinstance(default, dict):
        return "(empty)" if not default else ",".join(f"{k}={v}" for k, v in default.items())
    if isinstance(default, list):
        return "`" + ",".join(default) + "`" if default else "(empty)"
    if default == "":
        return "(empty)"
    return f"`{default}`"


def _type_text(name: str) -> str:
    annotation = OperatorSettings.model_fields[name].annotation
    if name == "namespaces":
        return "comma-separated list"
    if name == "namespace_roles":
        return "comma-separated `namespace=roleArn`"
    if getattr(annotation, "__origin__", None) is Literal:
        return " \\| ".join(f"`{choice}`" for choice in annotation.__args__)  # type: ignore[union-attr]
    return getattr(annotation, "__name__", str(annotation))


def render_markdown() -> str:
    """docs/configuration.md, generated from the settings model."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `make docs` (llm_operator.docs); do not edit by hand. -->",
        "",
        "The operator reads its settings from environment variables with the prefix "
        f"`{ENV_PREFIX}` (the Helm chart sets them from its values). The options of "
        "`llm-operator run` (`--namespace`, `--all-namespaces`, `--standalone`, "
        "`--peering`) override the matching variables.",
        "",
        "AWS access uses the standard AWS environment: credentials from the default "
        "chain (IRSA or Pod Identity on EKS), `AWS_REGION`, and endpoint overrides "
        "such as `AWS_ENDPOINT_URL_SAGEMAKER` (point it at `sagemaker-emulator` to run "
        "without AWS). Retries use botocore's `standard` mode; `AWS_MAX_ATTEMPTS` "
        "changes the number of attempts.",
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, field in OperatorSettings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| `{ENV_PREFIX}{name.upper()}` | {_type_text(name)} | {_default_text(name)} "
            f"| {description} |"
        )
    lines.append("")
    return "\n".join(lines)
