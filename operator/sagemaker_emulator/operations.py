"""The SageMaker operations the emulator implements, by X-Amz-Target operation name."""

from __future__ import annotations

from .resources import (
    endpoint_configs,
    endpoints,
    inference_components,
    model_packages,
    models,
    search,
    tags,
)
from .resources.common import Handler

OPERATIONS: dict[str, Handler] = {
    "CreateModel": models.create_model,
    "DescribeModel": models.describe_model,
    "DeleteModel": models.delete_model,
    "ListModels": models.list_models,
    "CreateEndpointConfig": endpoint_configs.create_endpoint_config,
    "DescribeEndpointConfig": endpoint_configs.describe_endpoint_config,
    "DeleteEndpointConfig": endpoint_configs.delete_endpoint_config,
    "ListEndpointConfigs": endpoint_configs.list_endpoint_configs,
    "CreateEndpoint": endpoints.create_endpoint,
    "DescribeEndpoint": endpoints.describe_endpoint,
    "UpdateEndpoint": endpoints.update_endpoint,
    "UpdateEndpointWeightsAndCapacities": endpoints.update_weights,
    "DeleteEndpoint": endpoints.delete_endpoint,
    "ListEndpoints": endpoints.list_endpoints,
    "CreateInferenceComponent": inference_components.create_inference_component,
    "DescribeInferenceComponent": inference_components.describe_inference_component,
    "UpdateInferenceComponent": inference_components.update_inference_component,
    "UpdateInferenceComponentRuntimeConfig": inference_components.update_runtime_config,
    "DeleteInferenceComponent": inference_components.delete_inference_component,
    "ListInferenceComponents": inference_components.list_inference_components,
    "CreateModelPackageGroup": model_packages.create_model_package_group,
    "DescribeModelPackageGroup": model_packages.describe_model_package_group,
    "ListModelPackageGroups": model_packages.list_model_package_groups,
    "DeleteModelPackageGroup": model_packages.delete_model_package_group,
    "CreateModelPackage": model_packages.create_model_package,
    "DescribeModelPackage": model_packages.describe_model_package,
    "ListModelPackages": model_packages.list_model_packages,
    "UpdateModelPackage": model_packages.update_model_package,
    "DeleteModelPackage": model_packages.delete_model_package,
    "AddTags": tags.add_tags,
    "ListTags": tags.list_tags,
    "DeleteTags": tags.delete_tags,
    "Search": search.search,
}

COMPLETERS = {
    "endpoints": endpoints.complete,
    "inference_components": inference_components.complete,
}
