"""The LLMEndpoint and LLMEndpointPolicy CustomResourceDefinitions, from the pydantic models.

pydantic's JSON schema is close to what Kubernetes wants but not quite: the API
server needs a structural schema (no $ref, no anyOf with null, no
`additionalProperties: false`, no titles), so this module rewrites it. The CEL
rules travel in the models as `x-kubernetes-validations` and come through as is.
`crds/llmendpoints.yaml` is the committed output of `render_crd_yaml()`,
`crds/llmendpointpolicies.yaml` that of `render_policy_crd_yaml()`.
"""

from __future__ import annotations

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
        "description": "Hugging Face model id or S3 artifact",
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


def openapi_schema() -> dict[str, Any]:
    """The `openAPIV3Schema` of the CRD's only version."""
    spec = _schema(models.LLMEndpointSpec, nullable=False)
    spec["description"] = "What should run in SageMaker."
    status = _schema(models.LLMEndpointStatus, nullable=True)
    status["description"] = "What the operator observed and did; written by the operator."
    status.pop("required", None)
    schema: dict[str, Any] = _ordered(
        {
            "type": "object",
            "description": (
                "An LLM served by Amazon SageMaker: the operator creates and keeps in step "
                "the model, endpoint config, endpoint and inference components it needs."
            ),
            "required": ["spec"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": spec,
                "status": status,
            },
            "x-kubernetes-validations": [
                models.cel(
                    f"size(self.metadata.name) <= {models.MAX_NAME_LENGTH}",
                    models.msg_name_length(),
                )
            ],
        }
    )
    return schema


def build_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": models.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": models.KIND,
                "listKind": f"{models.KIND}List",
                "plural": models.PLURAL,
                "singular": models.SINGULAR,
                "shortNames": list(models.SHORT_NAMES),
                "categories": ["sagemaker"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {
                        "status": {},
                        # `kubectl scale` (and KEDA or an HPA) set the copies; a CEL rule
                        # on spec refuses it while spec.autoscaling owns the count. An HPA
                        # refuses a target without a selector, so status carries one.
                        "scale": {
                            "specReplicasPath": ".spec.resources.copies",
                            "statusReplicasPath": ".status.replicas",
                            "labelSelectorPath": ".status.selector",
                        },
                    },
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


def render_crd_yaml() -> str:
    body = yaml.safe_dump(build_crd(), sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


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
    spec = _schema(policy.LLMEndpointPolicySpec, nullable=False)
    spec["description"] = "What the cluster admin allows, fills in and budgets per namespace."
    status = _schema(policy.LLMEndpointPolicyStatus, nullable=True)
    status["description"] = "Usage per governed namespace; written by the operator."
    status.pop("required", None)
    schema: dict[str, Any] = _ordered(
        {
            "type": "object",
            "description": (
                "Defaults, limits and a cost budget for the LLMEndpoints of the namespaces "
                "it selects; written by the cluster admin."
            ),
            "required": ["spec"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": spec,
                "status": status,
            },
        }
    )
    return schema


def build_policy_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": POLICY_CRD_NAME},
        "spec": {
            "group": models.GROUP,
            "scope": "Cluster",
            "names": {
                "kind": policy.POLICY_KIND,
                "listKind": f"{policy.POLICY_KIND}List",
                "plural": policy.POLICY_PLURAL,
                "singular": policy.POLICY_SINGULAR,
                "shortNames": list(policy.POLICY_SHORT_NAMES),
                "categories": ["sagemaker"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": POLICY_PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": policy_openapi_schema()},
                }
            ],
        },
    }


def render_policy_crd_yaml() -> str:
    body = yaml.safe_dump(build_policy_crd(), sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


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
]


def pool_openapi_schema() -> dict[str, Any]:
    """The `openAPIV3Schema` of the LLMEndpointPool CRD."""
    spec = _schema(pool.LLMEndpointPoolSpec, nullable=False)
    spec["description"] = "The shared endpoint's instances, and who may place models on it."
    status = _schema(pool.LLMEndpointPoolStatus, nullable=True)
    status["description"] = "The endpoint, its capacity and the models on it; by the operator."
    status.pop("required", None)
    schema: dict[str, Any] = _ordered(
        {
            "type": "object",
            "description": (
                "A SageMaker endpoint whose instances LLMEndpoints with spec.pool share: "
                "each places its model on it as inference components it owns."
            ),
            "required": ["spec"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": spec,
                "status": status,
            },
            "x-kubernetes-validations": [
                models.cel(
                    f"size(self.metadata.name) <= {models.MAX_NAME_LENGTH}",
                    models.msg_name_length(),
                )
            ],
        }
    )
    return schema


def build_pool_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": POOL_CRD_NAME},
        "spec": {
            "group": models.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": pool.POOL_KIND,
                "listKind": f"{pool.POOL_KIND}List",
                "plural": pool.POOL_PLURAL,
                "singular": pool.POOL_SINGULAR,
                "shortNames": list(pool.POOL_SHORT_NAMES),
                "categories": ["sagemaker"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": POOL_PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": pool_openapi_schema()},
                }
            ],
        },
    }


def render_pool_crd_yaml() -> str:
    body = yaml.safe_dump(build_pool_crd(), sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body
