"""Takes over an existing endpoint on explicit opt-in (see `core.adoption`).

Reads the endpoint, its endpoint config, its inference components and their
models; refuses an endpoint of the other type (model-based for an
InferenceComponent LLMEndpoint, or the converse) and one when any is tagged for
another owner; tags each with this
LLMEndpoint's ownership tags, the endpoint last, so a crash part-way leaves
the endpoint untagged and the next pass simply goes on. Nothing is deleted or
re-created here: the normal pass then updates what needs updating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm_operator.core import adoption
from llm_operator.core.desired import DesiredState
from llm_operator.shell.aws import AwsError, SageMaker, Scope
from llm_operator.shell.observe import Observer


@dataclass(frozen=True)
class Survey:
    """What an adoption takes over, proven free: the status record, and what it tags."""

    record: dict[str, Any]
    untagged: list[tuple[str, str, str]]  # (kind, name, ARN), the endpoint last
    arns: list[str]  # of everything it takes over


async def adopt(
    sagemaker: SageMaker, observer: Observer, place: Scope, want: DesiredState
) -> tuple[dict[str, Any], list[str]]:
    """(the status record of what was adopted, one message per resource newly tagged)."""
    found = await survey(sagemaker, place, want)
    messages: list[str] = []
    for kind, resource, arn in found.untagged:
        await sagemaker.call(place, "AddTags", {"ResourceArn": arn, "Tags": _tags(want.tags)})
        messages.append(f"adopted SageMaker {kind} {resource}")
    observer.retagged(place, found.arns)
    return found.record, messages


async def survey(sagemaker: SageMaker, place: Scope, want: DesiredState) -> Survey:
    """Reads what adopting `want.endpoint_name` takes over and proves it may (raises
    `AdoptionError` otherwise); writes nothing (`llm-operator plan` shows it)."""
    name = want.endpoint_name
    uid = want.owner.uid
    try:
        endpoint = await sagemaker.call(place, "DescribeEndpoint", {"EndpointName": name})
    except AwsError as error:
        if error.kind == "not_found":
            raise adoption.AdoptionError(
                "AdoptionNotFound",
                f"annotation {adoption.ADOPT_ANNOTATION}: SageMaker endpoint {name} does not "
                f"exist in {place}",
            ) from None
        raise
    config_name = str(endpoint.get("EndpointConfigName", ""))
    config = await sagemaker.call(
        place, "DescribeEndpointConfig", {"EndpointConfigName": config_name}
    )
    # Before anything is tagged: SageMaker cannot move it to the other kind of config.
    adoption.check_type(
        name,
        config.get("ProductionVariants") or [],
        want.endpoint_type,
        asynchronous=bool(config.get("AsyncInferenceConfig")),
    )
    models = {
        str(v["ModelName"]) for v in config.get("ProductionVariants") or [] if v.get("ModelName")
    }
    listed = await sagemaker.list_all(
        place, "ListInferenceComponents", "InferenceComponents", EndpointNameEquals=name
    )
    components: dict[str, str] = {}  # name -> arn
    for summary in listed:
        component = str(summary["InferenceComponentName"])
        described = await sagemaker.call(
            place, "DescribeInferenceComponent", {"InferenceComponentName": component}
        )
        components[component] = str(described["InferenceComponentArn"])
        model = (described.get("Specification") or {}).get("ModelName")
        if model:
            models.add(str(model))
    model_arns: dict[str, str] = {}
    for model in sorted(models):
        found = await sagemaker.call(place, "DescribeModel", {"ModelName": model})
        model_arns[model] = str(found["ModelArn"])
    # Every resource first proven free, then tagged: the endpoint last.
    resources: list[tuple[str, str, str]] = [
        *(("model", m, arn) for m, arn in sorted(model_arns.items())),
        ("endpoint config", config_name, str(config["EndpointConfigArn"])),
        *(("inference component", c, arn) for c, arn in sorted(components.items())),
        ("endpoint", name, str(endpoint["EndpointArn"])),
    ]
    untagged = [
        (kind, resource, arn)
        for kind, resource, arn in resources
        if adoption.check_owner(
            kind,
            resource,
            await sagemaker.tags(place, arn),
            uid,
            cluster_id=want.owner.cluster_id,
            cluster_name=want.owner.cluster,
        )
    ]
    record = {
        "endpoint": name,
        "endpointConfigs": [config_name],
        "models": sorted(model_arns),
        "inferenceComponents": sorted(components),
    }
    return Survey(record, untagged, [arn for _, _, arn in resources])


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]
