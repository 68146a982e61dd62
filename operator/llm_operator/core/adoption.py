"""Adopting an endpoint people made by hand (or with other tools): only on explicit opt-in.

The annotation `llmoperator.io/adopt-endpoint: <endpoint name>` on an LLMEndpoint
asks the operator to take over that existing endpoint, its endpoint config, its
inference components and their models. The ownership rule still holds: the
shell first proves that none of them is tagged for another owner, then tags
them with this LLMEndpoint's ownership tags and records them in status; from
then on they are this LLMEndpoint's like any it created (updated in place,
replaced, garbage collected). An endpoint of the other type (model-based for an
InferenceComponent LLMEndpoint, or the converse) is refused before anything is
tagged: SageMaker cannot update an endpoint between the two kinds of config.
Deletion under deletionPolicy Delete deletes what was adopted only once the
adoption completed (the endpoint served our own config); before that it gives
the resources back, without our ownership tags, as they were.
Without the annotation an untagged resource stays a NameConflict.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from llm_operator.core import naming
from llm_operator.core.attribution import Attribution, attribute
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    CLUSTER_TAG,
    MANAGED_BY_TAG,
    NAME_TAG,
    NAMESPACE_TAG,
    UID_TAG,
    Adopted,
    Owner,
)
from llm_operator.core.observed import ObservedResource, ObservedState

ADOPT_ANNOTATION = "llmoperator.io/adopt-endpoint"


class AdoptionError(ValueError):
    """The adoption cannot go ahead; `reason` is the status condition's reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def requested(annotations: Mapping[str, str]) -> str | None:
    """The endpoint name the LLMEndpoint asks to adopt, None when it asks for none."""
    name = (annotations.get(ADOPT_ANNOTATION) or "").strip()
    if not name:
        return None
    if len(name) > naming.MAX_SAGEMAKER_NAME or not naming.ENDPOINT_NAME_RE.match(name):
        raise AdoptionError(
            "InvalidAdoption",
            f"annotation {ADOPT_ANNOTATION}: {name!r} is not a SageMaker endpoint name",
        )
    return name


def check_owner(
    kind: str,
    name: str,
    tags: Mapping[str, str],
    uid: str,
    *,
    cluster_id: str = "",
    cluster_name: str = "",
) -> bool:
    """True when the resource must be tagged, False when it already is ours.

    Raises AdoptionError when it belongs to someone else: an adoption never takes
    a resource another owner's tags claim, nor one another cluster's tags claim.
    """
    owner = tags.get(UID_TAG)
    if owner == uid:
        return False
    if owner is not None:
        raise AdoptionError(
            "AdoptionRefused",
            f"SageMaker {kind} {name} is tagged for another owner (uid {owner}); "
            f"only untagged resources can be adopted ({ADOPT_ANNOTATION})",
        )
    if attribute(tags, cluster_id, cluster_name) is Attribution.OTHER:
        theirs = tags.get(CLUSTER_ID_TAG) or tags.get(CLUSTER_TAG)
        raise AdoptionError(
            "AdoptionRefused",
            f"SageMaker {kind} {name} is tagged as another cluster's ({theirs}); only "
            f"resources no cluster claims can be adopted ({ADOPT_ANNOTATION})",
        )
    return True


def check_type(
    name: str,
    variants: Sequence[Mapping[str, Any]],
    endpoint_type: str,
    asynchronous: bool = False,
) -> None:
    """Refuses an endpoint whose kind of config differs from `endpoint_type`.

    A variant naming a model makes a model-based endpoint (serverless with a
    ServerlessConfig); none, an inference-component one. SageMaker refuses
    UpdateEndpoint between them, so taking over another kind would only tag
    someone's endpoint as ours.
    """
    models = sorted({str(v["ModelName"]) for v in variants if v.get("ModelName")})
    serverless = any(v.get("ServerlessConfig") for v in variants)
    found = "Serverless" if serverless else "Model" if models else "InferenceComponent"
    if asynchronous and models:
        found = "Async"  # its config has an AsyncInferenceConfig
    if found == endpoint_type:
        return
    what = (
        f"serverless (its variant serves model {', '.join(models)} on serverless capacity)"
        if serverless
        else f"asynchronous (its config has an AsyncInferenceConfig; model {', '.join(models)})"
        if found == "Async"
        else f"model-based (its variant serves model {', '.join(models)})"
        if models
        else "inference-component-based (its variant names no model)"
    )
    raise AdoptionError(
        "AdoptionRefused",
        f"SageMaker endpoint {name} is {what}, and SageMaker cannot update an endpoint "
        "between model-based, asynchronous, serverless and inference-component-based "
        "endpoint configs: adopt it "
        f"with spec.endpointType: {found} (endpointType cannot change: create a new "
        f"LLMEndpoint); nothing was tagged ({ADOPT_ANNOTATION})",
    )


def from_record(record: Mapping[str, Any] | None) -> Adopted | None:
    """status.adopted as the planner sees it; None when nothing was adopted."""
    if not record or not record.get("endpoint"):
        return None
    return Adopted(
        endpoint=str(record["endpoint"]),
        endpoint_configs=frozenset(str(n) for n in record.get("endpointConfigs") or []),
        models=frozenset(str(n) for n in record.get("models") or []),
        components=frozenset(str(n) for n in record.get("inferenceComponents") or []),
        completed=bool(record.get("completed")),
    )


def completed(adopted: Adopted, observed: ObservedState, uid: str) -> bool:
    """The adoption completed: recorded so, or the endpoint now serves, InService, an
    endpoint config of ours that it did not have when adopted."""
    if adopted.completed:
        return True
    ep = observed.endpoint
    if ep is None or ep.name != adopted.endpoint or ep.status != "InService":
        return False
    config = observed.endpoint_configs.get(ep.config_name)
    return (
        ep.config_name not in adopted.endpoint_configs
        and config is not None
        and config.owner_uid == uid
    )


def held(adopted: Adopted | None, observed: ObservedState, uid: str) -> frozenset[str]:
    """The names deletion must give back rather than delete: everything an adoption
    that has not completed took over (nothing once it completed)."""
    if adopted is None or completed(adopted, observed, uid):
        return frozenset()
    return (
        frozenset({adopted.endpoint})
        | adopted.endpoint_configs
        | adopted.models
        | adopted.components
    )


# What an adoption added and giving back removes: the ownership tags alone (the
# user's spec.aws.tags stay, as a hand-made resource may have had them already).
OWNERSHIP_KEYS = (MANAGED_BY_TAG, NAMESPACE_TAG, NAME_TAG, UID_TAG, CLUSTER_TAG, CLUSTER_ID_TAG)


def as_adopted(observed: ObservedState, names: Collection[str], owner: Owner) -> ObservedState:
    """`observed` as it is once an adoption tagged `names` with `owner`'s tags: what
    `llm-operator plan` plans on, since it tags nothing."""
    uid, name, cluster_id = owner.uid, f"{owner.namespace}/{owner.name}", owner.cluster_id or None
    chosen = set(names)

    def resources(found: Mapping[str, ObservedResource]) -> dict[str, ObservedResource]:
        return {
            n: replace(r, owner_uid=uid, owner_name=name, owner_cluster_id=cluster_id)
            if n in chosen
            else r
            for n, r in found.items()
        }

    endpoint = observed.endpoint
    if endpoint is not None and endpoint.name in chosen:
        endpoint = replace(endpoint, owner_uid=uid, owner_name=name, owner_cluster_id=cluster_id)
    return replace(
        observed,
        endpoint=endpoint,
        components={
            n: replace(c, owner_uid=uid, owner_name=name, owner_cluster_id=cluster_id)
            if n in chosen
            else c
            for n, c in observed.components.items()
        },
        models=resources(observed.models),
        endpoint_configs=resources(observed.endpoint_configs),
    )
