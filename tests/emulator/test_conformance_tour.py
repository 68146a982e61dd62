"""One lifecycle through every implemented operation, each answer checked on the wire."""

from __future__ import annotations

import json
from typing import Any

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.operations import OPERATIONS
from tests.emulator import builders
from tests.emulator.shapes import WireRecorder

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def test_every_operation_answers_in_its_botocore_shape(
    sm: Any, rt: Any, emulator_admin: AdminClient, wire: WireRecorder
) -> None:
    builders.model(sm, "llm-model")
    sm.describe_model(ModelName="llm-model")
    sm.list_models()
    builders.component_config(sm, "cfg-1", scaling=(1, 2))
    builders.component_config(sm, "cfg-2", scaling=(1, 3))
    sm.describe_endpoint_config(EndpointConfigName="cfg-1")
    sm.list_endpoint_configs()
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    emulator_admin.settle()
    sm.describe_endpoint(EndpointName="ep")
    sm.list_endpoints()
    builders.component(sm, "ic", "ep", copies=2)
    emulator_admin.settle()
    sm.describe_inference_component(InferenceComponentName="ic")
    sm.list_inference_components()
    sm.update_inference_component(InferenceComponentName="ic", RuntimeConfig={"CopyCount": 3})
    emulator_admin.settle()
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    emulator_admin.settle()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    emulator_admin.settle()
    sm.update_endpoint_weights_and_capacities(
        EndpointName="ep",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
    )
    emulator_admin.settle()
    sm.add_tags(ResourceArn=f"{ARN}:endpoint/ep", Tags=[{"Key": "k", "Value": "v"}])
    sm.list_tags(ResourceArn=f"{ARN}:endpoint/ep")
    found = sm.search(
        Resource="Endpoint",
        SearchExpression={"Filters": [{"Name": "Tags.k", "Operator": "Equals", "Value": "v"}]},
    )["Results"]
    assert [r["Endpoint"]["EndpointName"] for r in found] == ["ep"]
    sm.delete_tags(ResourceArn=f"{ARN}:endpoint/ep", TagKeys=["k"])
    body = json.dumps({"inputs": "hello"}).encode()
    assert rt.invoke_endpoint(EndpointName="ep", InferenceComponentName="ic", Body=body)
    sm.delete_inference_component(InferenceComponentName="ic")
    emulator_admin.settle()
    sm.delete_endpoint(EndpointName="ep")
    emulator_admin.settle()
    sm.delete_endpoint_config(EndpointConfigName="cfg-1")
    sm.delete_endpoint_config(EndpointConfigName="cfg-2")
    sm.delete_model(ModelName="llm-model")
    sm.create_model_package_group(ModelPackageGroupName="group")
    sm.describe_model_package_group(ModelPackageGroupName="group")
    sm.list_model_package_groups()
    package = sm.create_model_package(
        ModelPackageGroupName="group",
        InferenceSpecification={
            "Containers": [{"Image": builders.IMAGE}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    sm.describe_model_package(ModelPackageName=package)
    sm.list_model_packages(ModelPackageGroupName="group")
    sm.delete_model_package(ModelPackageName=package)
    sm.delete_model_package_group(ModelPackageGroupName="group")

    shaped = {op for op in OPERATIONS if sm.meta.service_model.operation_model(op).output_shape}
    assert {name for name, _ in wire.answers} == shaped
    assert set(emulator_admin.calls()) == {*OPERATIONS, "InvokeEndpoint"}
    assert wire.problems == []
    assert emulator_admin.resource_names() == {
        "models": [],
        "endpoint_configs": [],
        "endpoints": [],
        "inference_components": [],
    }
    assert emulator_admin.model_packages() == {"model_package_groups": [], "model_packages": []}
