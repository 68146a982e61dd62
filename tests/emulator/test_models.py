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


def _environment(count: int, value_size: int, prefix: str = "VAR") -> dict[str, str]:
    return {f"{prefix}_{i:03d}": "x" * value_size for i in range(count)}


def test_environment_entries_are_bounded_by_the_service_model(sm: Any) -> None:
    code, message = error(
        sm.create_model,
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE, "Environment": {"LONG": "x" * 1025}},
        ExecutionRoleArn=ROLE,
    )
    assert code == "ValidationException"
    assert message.startswith(
        "1 validation error detected: Value '{LONG=" + "x" * 1025 + "}' at "
        "'primaryContainer.environment' failed to satisfy constraint: Map value must satisfy "
        "constraint: [Member must have length less than or equal to 1024, "
    )
    code, message = error(
        sm.create_model,
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE, "Environment": _environment(101, 1)},
        ExecutionRoleArn=ROLE,
    )
    assert code == "ValidationException"
    assert (
        "at 'primaryContainer.environment' failed to satisfy constraint: "
        "Member must have length less than or equal to 100" in message
    )


def test_environment_of_all_containers_is_at_most_32_kb(sm: Any) -> None:
    # 40 entries of 7 + 1000 bytes: 40280 bytes in one map, each entry within its limits.
    code, message = error(
        sm.create_model,
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE, "Environment": _environment(40, 1000)},
        ExecutionRoleArn=ROLE,
    )
    assert (code, message) == (
        "ValidationException",
        "The maximum length of all keys and values in the Environment maps of a model's "
        "containers, combined, is 32768 bytes (32 KB); this request has 40280 bytes.",
    )
    # Two containers of 20 such entries each: fine alone, too much together.
    half = {"Image": builders.IMAGE, "Environment": _environment(20, 1000)}
    code, message = error(
        sm.create_model, ModelName="m", Containers=[half, half], ExecutionRoleArn=ROLE
    )
    assert code == "ValidationException" and "this request has 40280 bytes" in message
    # Bytes, not characters: 17 entries of 7 + 1000 two-byte characters (34119 bytes).
    wide = {f"VAR_{i:03d}": "é" * 1000 for i in range(17)}
    code, message = error(
        sm.create_model,
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE, "Environment": wide},
        ExecutionRoleArn=ROLE,
    )
    assert code == "ValidationException" and "this request has 34119 bytes" in message
    # Exactly 32 KB is accepted: 32 entries of 7 + 1017 bytes.
    exact = {f"VAR_{i:03d}": "x" * 1017 for i in range(32)}
    sm.create_model(
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE, "Environment": exact},
        ExecutionRoleArn=ROLE,
    )
    assert sm.describe_model(ModelName="m")["PrimaryContainer"]["Environment"] == exact
