"""What SageMaker (the emulator) holds, seen through boto3 as a user would see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from local_cluster.services import Emulator
from tests.plugins.emulator_fixtures import boto3_client

MANAGED_BY = "llmoperator.io/managed-by"
OWNER_NAMESPACE = "llmoperator.io/namespace"
OWNER_NAME = "llmoperator.io/name"
OWNER_UID = "llmoperator.io/uid"


@dataclass(frozen=True)
class Inventory:
    """Names of every SageMaker resource in one account and region."""

    models: list[str]
    endpoint_configs: list[str]
    endpoints: list[str]
    inference_components: list[str]

    @property
    def empty(self) -> bool:
        return not (
            self.models or self.endpoint_configs or self.endpoints or self.inference_components
        )

    def counts(self) -> tuple[int, int, int, int]:
        return (
            len(self.models),
            len(self.endpoint_configs),
            len(self.endpoints),
            len(self.inference_components),
        )


# (paginated List operation, list key, ARN member) of the four kinds.
LISTS = (
    ("list_models", "Models", "ModelArn"),
    ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn"),
    ("list_endpoints", "Endpoints", "EndpointArn"),
    ("list_inference_components", "InferenceComponents", "InferenceComponentArn"),
)


def tags_by_arn(client: Any) -> dict[str, dict[str, str]]:
    """ARN -> tags of every model, endpoint config, endpoint and component `client` sees."""
    found: dict[str, dict[str, str]] = {}
    for operation, key, member in LISTS:
        for page in client.get_paginator(operation).paginate():
            for item in page[key]:
                pages = client.get_paginator("list_tags").paginate(ResourceArn=item[member])
                found[item[member]] = {t["Key"]: t["Value"] for p in pages for t in p["Tags"]}
    return found


class SageMaker:
    """A boto3 SageMaker client pointed at the emulator."""

    def __init__(self, emulator: Emulator, region: str = "us-east-1"):
        self.client: Any = boto3_client(
            emulator.url,
            region_name=region,
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )

    def _names(self, operation: str, key: str, name_key: str) -> list[str]:
        names: list[str] = []
        for page in self.client.get_paginator(operation).paginate():
            names += [item[name_key] for item in page[key]]
        return sorted(names)

    def inventory(self) -> Inventory:
        return Inventory(
            models=self._names("list_models", "Models", "ModelName"),
            endpoint_configs=self._names(
                "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"
            ),
            endpoints=self._names("list_endpoints", "Endpoints", "EndpointName"),
            inference_components=self._names(
                "list_inference_components", "InferenceComponents", "InferenceComponentName"
            ),
        )

    def tags(self, arn: str) -> dict[str, str]:
        pages = self.client.get_paginator("list_tags").paginate(ResourceArn=arn)
        return {t["Key"]: t["Value"] for page in pages for t in page["Tags"]}

    def endpoint(self, name: str) -> dict[str, Any]:
        return dict(self.client.describe_endpoint(EndpointName=name))

    def endpoint_config(self, name: str) -> dict[str, Any]:
        return dict(self.client.describe_endpoint_config(EndpointConfigName=name))

    def model(self, name: str) -> dict[str, Any]:
        return dict(self.client.describe_model(ModelName=name))

    def inference_component(self, name: str) -> dict[str, Any]:
        return dict(self.client.describe_inference_component(InferenceComponentName=name))
