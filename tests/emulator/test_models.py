"""Models and endpoint configs: immutable resources, their defaults and their errors."""

from __future__ import annotations

from typing import Any

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import ROLE, error


def test_model_round_trip_reports_arn_defaults_and_times(sm: Any) -> None:
    arn = builders.model(sm, "Llama-Model")
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:model/llama-model"
    described = sm.describe_model(ModelName="Llama-Model")
    assert described["ModelArn"] == arn
    assert described["EnableNetworkIsolation"] is False
    assert (
        described["PrimaryContainer"]["Environment"]["HF_MODEL_ID"]
        == "meta-llama/Llama-3.1-8B-Instruct"
    )
    assert described["ExecutionRoleArn"] == ROLE
    assert described["CreationTime"].tzinfo is not None


def test_duplicate_and_missing_models_answer_like_sagemaker(sm: Any) -> None:
    arn = builders.model(sm, "m")
    code, message = error(sm.create_model, ModelName="m", PrimaryContainer={"Image": "x"})
    assert (code, message) == (
        "ValidationException",
        f'Cannot create already existing model "{arn}".',
    )
    code, message = error(sm.describe_model, ModelName="absent")
    assert code == "ValidationException"
    assert (
        message == 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/absent".'
    )
    sm.delete_model(ModelName="m")
    assert error(sm.delete_model, ModelName="m")[1].startswith("Could not find model")


def test_endpoint_config_needs_its_models_and_is_described_fully(sm: Any) -> None:
    code, message = error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "ghost",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    assert (code, message) == (
        "ValidationException",
        'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/ghost".',
    )
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m", count=2)
    described = sm.describe_endpoint_config(EndpointConfigName="cfg")
    assert described["EndpointConfigArn"].endswith(":endpoint-config/cfg")
    assert described["EnableNetworkIsolation"] is False
    assert described["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert described["ProductionVariants"][0]["InitialVariantWeight"] == 1.0
    code, message = error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "m",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    assert message.startswith('Cannot create already existing endpoint configuration "arn:aws')


def test_managed_scaling_only_on_component_configs(sm: Any) -> None:
    builders.model(sm, "m")
    code, message = error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "m",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 1,
                    "MaxInstanceCount": 2,
                },
            }
        ],
    )
    assert (code, message) == (
        "ValidationException",
        "ManagedInstanceScaling is only supported for inference component endpoints.",
    )


def test_component_config_requires_an_execution_role(sm: Any) -> None:
    code, message = error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[
            {"VariantName": "v", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    assert code == "ValidationException"
    assert "ExecutionRoleArn" in message
    builders.component_config(sm, "cfg", scaling=(0, 2))
    variant = sm.describe_endpoint_config(EndpointConfigName="cfg")["ProductionVariants"][0]
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 2,
    }
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}


def test_deleting_a_model_in_use_is_allowed(sm: Any, emulator_admin: AdminClient) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    sm.delete_model(ModelName="m")
    sm.delete_endpoint_config(EndpointConfigName="cfg")
    emulator_admin.settle()
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"
    assert emulator_admin.resource_names()["models"] == []
