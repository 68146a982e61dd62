"""The LLMEndpoint and LLMEndpointPolicy CustomResourceDefinitions, from the pydantic models.

pydantic's JSON schema is close to what Kubernetes wants but not quite: the API
server needs a structural schema (no $ref, no anyOf with null, no
`additionalProperties: false`, no titles), so this module rewrites it. The CEL
rules travel in the models as `x-kubernetes-validations` and come through as is.
`crds/llmendpoints.yaml` is the committed output of `render_crd_yaml()`,
`crds/llmendpointpolicies.yaml` that of `render_policy_crd_yaml()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from pydantic import BaseModel

from llm_operator.api import models, policy, pool

CRD_NAME = f"{models.PLURAL}.{models.GROUP}"
HEADER = (
    "# Generated from llm_operator.api.models by `llm-operator crd` (llm_operator.api.crd)."
    " Do not edit by hand.\n"
)

# Keys of JSON schema that a Kubernetes structural schema does not take.
_DROPPED = {"title", "$defs", "const"}

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {
        "name": "Model",
        "type": "string",
        "jsonPath": ".status.modelSource",
        "description": "Hugging Face model id, S3 artifact or model package",
    },
    {"name": "Instance", "type": "string", "jsonPath": ".spec.instance.type"},
    {
        "name": "Pool",
        "type": "string",
        "jsonPath": ".spec.pool.name",
        "description": "The LLMEndpointPool the model is placed on",
        "priority": 1,
    },
    {
        "name": "Copies",
        "type": "string",
        "jsonPath": ".status.copiesSummary",
        "description": "Model copies, current/desired",
    },
    {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {
        "name": "Version",
        "type": "integer",
        "jsonPath": ".status.model.version",
        "description": "The model package version served (spec.model.modelPackage)",
        "priority": 1,
    },
    {
        "name": "Engine",
        "type": "string",
        "jsonPath": ".status.engine",
        "description": "Serving engine the model runs",
        "priority": 1,
    },
    {
        "name": "Endpoint",
        "type": "string",
        "jsonPath": ".status.endpointName",
        "priority": 1,
    },
    {
        "name": "Cost/h",
        "type": "string",
        "jsonPath": ".status.estimatedHourlyCostUSD",
        "description": "Estimated on-demand USD per hour",
        "priority": 1,
    },
    {
        "name": "Rollout",
        "type": "string",
        "jsonPath": ".status.rollout.phase",
        "description": "The current or last guarded rollout (spec.rollout)",
        "priority": 1,
    },
]


def _is_empty_default(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _merge_validations(*nodes: dict[str, Any]) -> list[dict[str, str]]:
    merged: list[dict[str, str]] = []
    for node in nodes:
        merged.extend(node.get("x-kubernetes-validations", []))
    return merged


class _Converter:
    """Turns one pydantic JSON schema into a structural OpenAPI v3 schema."""

    def __init__(self, defs: dict[str, Any], *, nullable: bool) -> None:
        self.defs = defs
        self.nullable = nullable

    def convert(self, node: dict[str, Any]) -> dict[str, Any]:
        siblings = {k: v for k, v in node.items() if k not in ("$ref", "anyOf", "allOf")}
        inner: dict[str, Any] | None = None
        optional = False
        if "$ref" in node:
            inner = self._deref(node["$ref"])
        elif "allOf" in node and len(node["allOf"]) == 1:
            inner = self.convert(node["allOf"][0])
        elif "anyOf" in node:
            variants = [v for v in node["anyOf"] if v.get("type") != "null"]
            optional = len(variants) < len(node["anyOf"])
            if len(variants) != 1:
                raise ValueError(f"cannot express anyOf {node['anyOf']!r} structurally")
            inner = self.convert(variants[0])
        out = self._plain(siblings)
        if inner is not None:
            validations = _merge_validations(inner, out)
            out = {**inner, **out}
            if validations:
                out["x-kubernetes-validations"] = validations
        if optional and self.nullable:
            out["nullable"] = True
        return out

    def _deref(self, ref: str) -> dict[str, Any]:
        name = ref.rsplit("/", 1)[-1]
        return self.convert(self.defs[name])

    def _plain(self, node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED:
                continue
            if key == "default" and _is_empty_default(value):
                continue
            if key == "properties":
                out[key] = {name: self.convert(sub) for name, sub in value.items()}
            elif key == "items":
                out[key] = self.convert(value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum"):
                # JSON Schema 2020 gives the bound; OpenAPI v3.0 wants a flag beside it.
                out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
                out[key] = True
            elif key == "additionalProperties":
                if isinstance(value, dict) and value:
                    out[key] = self.convert(value)
                elif value is True or value == {}:
                    out["x-kubernetes-preserve-unknown-fields"] = True
                # `false` (extra="forbid"): structural schemas prune unknown fields anyway.
            else:
                out[key] = value
        if "const" in node:
            out["enum"] = [node["const"]]
        if out.get("x-kubernetes-preserve-unknown-fields") and "properties" not in out:
            out.pop("additionalProperties", None)
        if "properties" in out:
            out.setdefault("type", "object")
            out.pop("additionalProperties", None)
        return out


_FIRST_KEYS = ("description", "type")


def _ordered(node: Any) -> Any:
    """description and type first: the generated YAML reads top-down like the docs."""
    if isinstance(node, dict):
        keys = [k for k in _FIRST_KEYS if k in node] + [k for k in node if k not in _FIRST_KEYS]
        return {k: _ordered(node[k]) for k in keys}
    if isinstance(node, list):
        return [_ordered(item) for item in node]
    return node


def _schema(model: type[BaseModel], *, nullable: bool) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _Converter(raw.get("$defs", {}), nullable=nullable).convert(raw)


def _root_schema(
    spec_model: type[BaseModel],
    status_model: type[BaseModel],
    *,
    text: str,
    spec_text: str,
    status_text: str,
    validations: tuple[dict[str, str], ...] = (),
) -> dict[str, Any]:
    """The `openAPIV3Schema` of a kind: its spec and its status (the operator's)."""
    spec = _schema(spec_model, nullable=False)
    spec["description"] = spec_text
    status = _schema(status_model, nullable=True)
    status["description"] = status_text
    status.pop("required", None)
    root: dict[str, Any] = {
        "type": "object",
        "description": text,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }
    if validations:
        root["x-kubernetes-validations"] = list(validations)
    schema: dict[str, Any] = _ordered(root)
    return schema


def _name_length() -> dict[str, str]:
    return models.cel(
        f"size(self.metadata.name) <= {models.MAX_NAME_LENGTH}", models.msg_name_length()
    )


def _crd(
    *,
    kind: str,
    plural: str,
    singular: str,
    short_names: Iterable[str],
    scope: str,
    columns: list[dict[str, Any]],
    schema: dict[str, Any],
    subresources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One of the project's CRDs: one served and stored version, in the sagemaker category."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{models.GROUP}"},
        "spec": {
            "group": models.GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": list(short_names),
                "categories": ["sagemaker"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": subresources or {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def _yaml(crd: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(crd, sort_keys=False, width=100, allow_unicode=True)


def openapi_schema() -> dict[str, Any]:
    """The `openAPIV3Schema` of the CRD's only version."""
    return _root_schema(
        models.LLMEndpointSpec,
        models.LLMEndpointStatus,
        text=(
            "An LLM served by Amazon SageMaker: the operator creates and keeps in step "
            "the model, endpoint config, endpoint and inference components it needs."
        ),
        spec_text="What should run in SageMaker.",
        status_text="What the operator observed and did; written by the operator.",
        validations=(_name_length(),),
    )


def build_crd() -> dict[str, Any]:
    return _crd(
        kind=models.KIND,
        plural=models.PLURAL,
        singular=models.SINGULAR,
        short_names=models.SHORT_NAMES,
        scope="Namespaced",
        columns=PRINTER_COLUMNS,
        schema=openapi_schema(),
        subresources={
            "status": {},
            # `kubectl scale` (and KEDA or an HPA) set the copies; a CEL rule on spec
            # refuses it while spec.autoscaling owns the count. An HPA refuses a target
            # without a selector, so status carries one.
            "scale": {
                "specReplicasPath": ".spec.resources.copies",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            },
        },
    )


def render_crd_yaml() -> str:
    return _yaml(build_crd())


POLICY_CRD_NAME = f"{policy.POLICY_PLURAL}.{models.GROUP}"

# `kubectl get llmpol`: one value per governed namespace, in the order of NAMESPACES.
POLICY_PRINTER_COLUMNS: list[dict[str, Any]] = [
    {
        "name": "Namespaces",
        "type": "string",
        "jsonPath": ".status.namespaces[*].name",
        "description": "Governed namespaces",
    },
    {
        "name": "Endpoints",
        "type": "string",
        "jsonPath": ".status.namespaces[*].endpoints",
        "description": "LLMEndpoints per namespace",
    },
    {
        "name": "Cost/h",
        "type": "string",
        "jsonPath": ".status.namespaces[*].costPerHourUSD",
        "description": "On-demand USD per hour now, per namespace",
    },
    {
        "name": "Ceiling/h",
        "type": "string",
        "jsonPath": ".status.namespaces[*].ceilingCostPerHourUSD",
        "description": "USD per hour at every LLMEndpoint's ceiling, per namespace",
    },
    {
        "name": "Budget/h",
        "type": "string",
        "jsonPath": ".spec.budget.maxCostPerHourUSD",
        "description": "spec.budget.maxCostPerHourUSD, per namespace",
    },
    {
        "name": "Refused",
        "type": "string",
        "jsonPath": ".status.namespaces[*].refused",
        "description": "LLMEndpoints refused per namespace",
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {
        "name": "Problems",
        "type": "string",
        "jsonPath": ".status.problems",
        "priority": 1,
    },
]


def policy_openapi_schema() -> dict[str, Any]:
    """The `openAPIV3Schema` of the LLMEndpointPolicy CRD."""
    return _root_schema(
        policy.LLMEndpointPolicySpec,
        policy.LLMEndpointPolicyStatus,
        text=(
            "Defaults, limits and a cost budget for the LLMEndpoints of the namespaces "
            "it selects; written by the cluster admin."
        ),
        spec_text="What the cluster admin allows, fills in and budgets per namespace.",
        status_text="Usage per governed namespace; written by the operator.",
    )


def build_policy_crd() -> dict[str, Any]:
    return _crd(
        kind=policy.POLICY_KIND,
        plural=policy.POLICY_PLURAL,
        singular=policy.POLICY_SINGULAR,
        short_names=policy.POLICY_SHORT_NAMES,
        scope="Cluster",
        columns=POLICY_PRINTER_COLUMNS,
        schema=policy_openapi_schema(),
    )


def render_policy_crd_yaml() -> str:
    return _yaml(build_policy_crd())


POOL_CRD_NAME = f"{pool.POOL_PLURAL}.{models.GROUP}"

# `kubectl get llmpool`.
POOL_PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Instance", "type": "string", "jsonPath": ".spec.instance.type"},
    {
        "name": "Instances",
        "type": "string",
        "jsonPath": ".status.instancesSummary",
        "description": "Instances running now / maxCount",
    },
    {
        "name": "Models",
        "type": "integer",
        "jsonPath": ".status.modelsCount",
        "description": "LLMEndpoints placed on the pool",
    },
    {
        "name": "Accelerators",
        "type": "string",
        "jsonPath": ".status.capacity.acceleratorsCeiling",
        "description": "Accelerators the models use at their autoscaling maximum",
    },
    {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {
        "name": "Endpoint",
        "type": "string",
        "jsonPath": ".status.endpointName",
        "priority": 1,
    },
    {
        "name": "Cost/h",
        "type": "string",
        "jsonPath": ".status.costPerHourUSD",
        "description": "On-demand USD per hour of the instances running now",
        "priority": 1,
    },
    {
        "name": "Running",
        "type": "string",
        "jsonPath": ".status.instanceType",
        "description": "The instance type the endpoint runs now",
        "priority": 1,
    },
    {
        "name": "Rollout",
        "type": "string",
        "jsonPath": ".status.rollout.phase",
        "description": "The last change of instance type",
        "priority": 1,
    },
]


def pool_openapi_schema() -> dict[str, Any]:
    """The `openAPIV3Schema` of the LLMEndpointPool CRD."""
    return _root_schema(
        pool.LLMEndpointPoolSpec,
        pool.LLMEndpointPoolStatus,
        text=(
            "A SageMaker endpoint whose instances LLMEndpoints with spec.pool share: "
            "each places its model on it as inference components it owns."
        ),
        spec_text="The shared endpoint's instances, and who may place models on it.",
        status_text="The endpoint, its capacity and the models on it; by the operator.",
        validations=(_name_length(),),
    )


def build_pool_crd() -> dict[str, Any]:
    return _crd(
        kind=pool.POOL_KIND,
        plural=pool.POOL_PLURAL,
        singular=pool.POOL_SINGULAR,
        short_names=pool.POOL_SHORT_NAMES,
        scope="Namespaced",
        columns=POOL_PRINTER_COLUMNS,
        schema=pool_openapi_schema(),
    )


def render_pool_crd_yaml() -> str:
    return _yaml(build_pool_crd())
