"""Inference components: copies placed by compute requirements, scaling, adapters, failures."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


@pytest.fixture
def endpoint(sm: Any, emulator_admin: AdminClient) -> str:
    """ml.g5.12xlarge (4 GPUs, 48 vCPUs, 192 GiB) with ManagedInstanceScaling 0..2."""
    builders.model(sm, "llm-model")
    builders.component_config(sm, "ic-cfg", scaling=(0, 2))
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
    emulator_admin.settle()
    return "ep"


def instances(sm: Any) -> int:
    count: int = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0][
        "CurrentInstanceCount"
    ]
    return count


def copies(sm: Any, name: str) -> tuple[int, int]:
    runtime = sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]
    return runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]


def test_creating_then_in_service_with_copies(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    emulator_admin.set_delay(3600)
    builders.component(sm, "ic", "ep", gpus=2, copies=2)
    creating = sm.describe_inference_component(InferenceComponentName="ic")
    assert creating["InferenceComponentStatus"] == "Creating"
    assert creating["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 0}
    emulator_admin.settle()
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["InferenceComponentArn"] == f"{ARN}:inference-component/ic"
    assert described["EndpointArn"] == f"{ARN}:endpoint/ep"
    assert described["VariantName"] == "AllTraffic"
    assert described["Specification"]["ModelName"] == "llm-model"
    assert (
        described["Specification"]["ComputeResourceRequirements"][
            "NumberOfAcceleratorDevicesRequired"
        ]
        == 2
    )
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert instances(sm) == 1  # two 2-GPU copies share one 4-GPU instance


def test_copies_start_one_after_another(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    emulator_admin.set_delay(3600)
    builders.component(sm, "ic", "ep", gpus=1, copies=3)
    seen = []
    for _ in range(3):
        emulator_admin.settle(once=True)
        described = sm.describe_inference_component(InferenceComponentName="ic")
        seen.append(
            (described["InferenceComponentStatus"], described["RuntimeConfig"]["CurrentCopyCount"])
        )
    assert seen == [("Creating", 1), ("Creating", 2), ("InService", 3)]
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 5}
    )
    emulator_admin.settle(once=True)
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "Updating"
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 5, "CurrentCopyCount": 4}
    emulator_admin.settle()
    assert copies(sm, "ic") == (5, 5)
    assert instances(sm) == 2


def test_copies_that_do_not_fit_add_instances_within_managed_scaling(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=2, copies=3)
    emulator_admin.settle()
    assert copies(sm, "ic") == (3, 3)
    assert instances(sm) == 2
    emulator_admin.set_delay(3600)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 5}
    )
    assert (
        sm.describe_inference_component(InferenceComponentName="ic")["InferenceComponentStatus"]
        == "Updating"
    )
    emulator_admin.settle()
    failed = sm.describe_inference_component(InferenceComponentName="ic")
    assert failed["InferenceComponentStatus"] == "InService"
    assert failed["FailureReason"].startswith("CapacityError")
    assert failed["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
    assert instances(sm) == 2


def test_scale_to_zero_releases_instances_down_to_the_minimum(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=4, copies=2)
    emulator_admin.settle()
    assert instances(sm) == 2
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    emulator_admin.settle()
    assert copies(sm, "ic") == (0, 0)
    assert instances(sm) == 0
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    emulator_admin.settle()
    assert copies(sm, "ic") == (1, 1)
    assert instances(sm) == 1


def test_creation_beyond_capacity_fails_with_capacity_error(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=3, copies=3)  # one 3-GPU copy per instance, at most 2
    emulator_admin.settle()
    failed = sm.describe_inference_component(InferenceComponentName="ic")
    assert failed["InferenceComponentStatus"] == "Failed"
    assert failed["FailureReason"].startswith("CapacityError")
    assert failed["RuntimeConfig"]["CurrentCopyCount"] == 0


def test_a_copy_larger_than_an_instance_is_rejected(sm: Any, endpoint: str) -> None:
    code, message = error(
        sm.create_inference_component,
        InferenceComponentName="ic",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "llm-model",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 8,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    assert code == "ValidationException"
    assert "exceed what one ml.g5.12xlarge instance offers" in message


def test_memory_and_cpu_requirements_also_place_copies(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    # 1 GPU each but 100 GiB of host memory: only one copy per 192 GiB instance.
    builders.component(sm, "ic", "ep", gpus=1, memory_mb=100 * 1024, copies=2)
    emulator_admin.settle()
    assert copies(sm, "ic") == (2, 2)
    assert instances(sm) == 2


def test_errors_for_missing_and_duplicate_components(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep")
    assert error(builders.component, sm=sm, name="ic", endpoint="ep") == (
        "ValidationException",
        f'Cannot create already existing inference component "{ARN}:inference-component/ic".',
    )
    assert error(sm.describe_inference_component, InferenceComponentName="nope")[1].startswith(
        "Could not find inference component"
    )
    assert (
        error(builders.component, sm=sm, name="x", endpoint="ghost")[1]
        == f'Could not find endpoint "{ARN}:endpoint/ghost".'
    )
    assert error(builders.component, sm=sm, name="x", endpoint="ep", model_name="ghost")[1] == (
        f'Could not find model "{ARN}:model/ghost".'
    )
    code, message = error(
        sm.create_inference_component,
        InferenceComponentName="x",
        EndpointName="ep",
        VariantName="Nope",
        Specification={
            "ModelName": "llm-model",
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    assert code == "ValidationException" and 'variant "Nope"' in message


def test_components_need_an_in_service_component_endpoint(
    sm: Any, emulator_admin: AdminClient
) -> None:
    builders.model(sm, "llm-model")
    builders.model_config(sm, "model-cfg", "llm-model")
    sm.create_endpoint(EndpointName="model-ep", EndpointConfigName="model-cfg")
    emulator_admin.settle()
    code, message = error(builders.component, sm=sm, name="ic", endpoint="model-ep")
    assert code == "ValidationException" and "not an inference component endpoint" in message
    emulator_admin.set_delay(3600)
    builders.component_config(sm, "ic-cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
    code, message = error(builders.component, sm=sm, name="ic", endpoint="ep")
    assert code == "ValidationException" and "Creating" in message


def test_endpoint_cannot_be_deleted_while_it_hosts_components(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep")
    emulator_admin.settle()
    code, message = error(sm.delete_endpoint, EndpointName="ep")
    assert code == "ValidationException" and "inference components" in message
    sm.delete_inference_component(InferenceComponentName="ic")
    emulator_admin.settle()
    sm.delete_endpoint(EndpointName="ep")
    emulator_admin.settle()
    assert emulator_admin.resource_names()["endpoints"] == []


def test_adapters_share_the_base_and_block_its_deletion(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "base", "ep", copies=2)
    emulator_admin.settle()
    sm.create_inference_component(
        InferenceComponentName="adapter",
        EndpointName="ep",
        Specification={
            "BaseInferenceComponentName": "base",
            "Container": {"ArtifactUrl": "s3://bucket/adapters/sql/"},
        },
    )
    emulator_admin.settle()
    adapter = sm.describe_inference_component(InferenceComponentName="adapter")
    assert adapter["InferenceComponentStatus"] == "InService"
    assert adapter["VariantName"] == "AllTraffic"
    assert adapter["Specification"]["BaseInferenceComponentName"] == "base"
    assert adapter["Specification"]["Container"]["ArtifactUrl"] == "s3://bucket/adapters/sql/"
    assert instances(sm) == 1  # adapters take no capacity of their own
    code, message = error(sm.delete_inference_component, InferenceComponentName="base")
    assert code == "ValidationException"
    assert "is a base inference component for one or more associated" in message
    sm.delete_inference_component(InferenceComponentName="adapter")
    emulator_admin.settle()
    sm.delete_inference_component(InferenceComponentName="base")
    emulator_admin.settle()
    assert emulator_admin.resource_names()["inference_components"] == []
    assert instances(sm) == 0


def test_update_specification_in_place(sm: Any, emulator_admin: AdminClient, endpoint: str) -> None:
    builders.component(sm, "ic", "ep", gpus=1, copies=2)
    emulator_admin.settle()
    emulator_admin.set_delay(3600)
    # A rolling update needs room for a batch of new copies next to the old ones.
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification={
            "ModelName": "llm-model",
            "Container": {"Image": builders.IMAGE, "Environment": {"MAX_INPUT_TOKENS": "4096"}},
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 2,
                "MinMemoryRequiredInMb": 4096,
            },
        },
        RuntimeConfig={"CopyCount": 2},
        DeploymentConfig={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 0,
            }
        },
    )
    assert error(
        sm.update_inference_component_runtime_config,
        InferenceComponentName="ic",
        DesiredRuntimeConfig={"CopyCount": 1},
    )[1] == (f'Cannot update in-progress inference component "{ARN}:inference-component/ic".')
    emulator_admin.settle()
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    spec = described["Specification"]
    assert spec["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 2
    assert spec["Container"]["Environment"] == {"MAX_INPUT_TOKENS": "4096"}
    assert spec["Container"]["DeployedImage"]["SpecifiedImage"] == builders.IMAGE
    assert instances(sm) == 2
    assert described["LastDeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"] == {
        "Type": "COPY_COUNT",
        "Value": 1,
    }


def test_failed_update_keeps_the_old_specification(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=1, copies=1)
    emulator_admin.settle()
    emulator_admin.faults(
        fail_next=[
            {
                "resource": "inference_component",
                "name": "ic",
                "reason": "Request to service failed.",
            }
        ]
    )
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 2}
    )
    emulator_admin.settle()
    after = sm.describe_inference_component(InferenceComponentName="ic")
    assert after["InferenceComponentStatus"] == "InService"
    assert after["FailureReason"] == "Request to service failed."
    assert after["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}


def test_failed_creation_by_fault(sm: Any, emulator_admin: AdminClient, endpoint: str) -> None:
    emulator_admin.faults(
        fail_next=[{"resource": "inference_component", "reason": "Model download failed."}]
    )
    builders.component(sm, "ic", "ep")
    emulator_admin.settle()
    failed = sm.describe_inference_component(InferenceComponentName="ic")
    assert (failed["InferenceComponentStatus"], failed["FailureReason"]) == (
        "Failed",
        "Model download failed.",
    )
    sm.delete_inference_component(InferenceComponentName="ic")
    emulator_admin.settle()
    assert emulator_admin.resource_names()["inference_components"] == []


def test_a_component_still_creating_cannot_be_deleted(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    """SageMaker refuses to delete a Creating component (amazon-sagemaker-examples#3432)."""
    emulator_admin.set_delay(3600)
    builders.component(sm, "ic", "ep", copies=2)
    code, message = error(sm.delete_inference_component, InferenceComponentName="ic")
    assert code == "ValidationException"
    assert message == (
        f'Cannot delete inference component "{ARN}:inference-component/ic" while it is in '
        "Creating status. Wait until it is InService or Failed, then retry."
    )
    emulator_admin.settle(once=True)  # one copy up, still Creating: still refused
    assert error(sm.delete_inference_component, InferenceComponentName="ic")[0] == (
        "ValidationException"
    )
    emulator_admin.settle()
    sm.delete_inference_component(InferenceComponentName="ic")
    assert (
        sm.describe_inference_component(InferenceComponentName="ic")["InferenceComponentStatus"]
        == "Deleting"
    )


def test_a_component_stuck_in_creating_holds_its_endpoint(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    """As users report of AWS: nothing can be deleted until the component leaves Creating."""
    emulator_admin.faults(stuck=[{"resource": "inference_component", "name": "ic"}])
    builders.component(sm, "ic", "ep")
    emulator_admin.settle()
    assert error(sm.delete_inference_component, InferenceComponentName="ic")[0] == (
        "ValidationException"
    )
    assert error(sm.delete_endpoint, EndpointName="ep")[0] == "ValidationException"
    emulator_admin.clear_faults()
    emulator_admin.settle()
    sm.delete_inference_component(InferenceComponentName="ic")
    emulator_admin.settle()
    sm.delete_endpoint(EndpointName="ep")
    emulator_admin.settle()
    assert emulator_admin.resource_names()["endpoints"] == []


def test_a_component_variant_is_described_without_a_weight(
    sm: Any, endpoint: str, emulator_admin: AdminClient
) -> None:
    """SageMaker describes the default weight (1.0) only for a variant that hosts a model:
    a config for inference components, created without one, comes back without one
    (hashicorp/terraform-provider-aws#35011, #44977), while the endpoint's variant still
    carries the weights every variant has."""
    (variant,) = sm.describe_endpoint_config(EndpointConfigName="ic-cfg")["ProductionVariants"]
    assert "InitialVariantWeight" not in variant
    (summary,) = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"]
    assert (summary["CurrentWeight"], summary["DesiredWeight"]) == (1.0, 1.0)
    builders.model_config(sm, "model-cfg", "llm-model")
    (variant,) = sm.describe_endpoint_config(EndpointConfigName="model-cfg")["ProductionVariants"]
    assert variant["InitialVariantWeight"] == 1.0


@pytest.mark.parametrize("guarded", [False, True])
def test_an_instance_type_change_redeploys_the_components_on_the_new_instances(
    sm: Any, emulator_admin: AdminClient, endpoint: str, guarded: bool
) -> None:
    """UpdateEndpoint to another instance type: the components keep serving and end up
    on the new instances (two 2-GPU copies: one ml.g5.12xlarge, two ml.g5.2xlarge)."""
    builders.component(sm, "ic", "ep", gpus=1, copies=2)
    builders.component(sm, "other", "ep", gpus=1, copies=1)
    emulator_admin.settle()
    assert instances(sm) == 1
    builders.component_config(sm, "ic-cfg-g6", instance="ml.g6.2xlarge", scaling=(0, 4))
    extra: dict[str, Any] = {}
    if guarded:
        extra["DeploymentConfig"] = {
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                "WaitIntervalInSeconds": 0,
            }
        }
    emulator_admin.set_delay(3600)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg-g6", **extra)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
    for name in ("ic", "other"):
        described = sm.describe_inference_component(InferenceComponentName=name)
        assert described["InferenceComponentStatus"] == "InService"
    emulator_admin.settle()
    ep = sm.describe_endpoint(EndpointName="ep")
    assert ep["EndpointStatus"] == "InService"
    assert ep["EndpointConfigName"] == "ic-cfg-g6"
    assert "FailureReason" not in ep
    assert instances(sm) == 3  # one 1-GPU copy per ml.g6.2xlarge
    assert copies(sm, "ic") == (2, 2)
    assert copies(sm, "other") == (1, 1)


def test_an_instance_type_the_components_do_not_fit_rolls_the_update_back(
    sm: Any, emulator_admin: AdminClient, endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=2, copies=1)
    emulator_admin.settle()
    builders.component_config(sm, "ic-cfg-small", instance="ml.g5.2xlarge", scaling=(0, 4))
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg-small")
    emulator_admin.settle()
    ep = sm.describe_endpoint(EndpointName="ep")
    assert ep["EndpointStatus"] == "InService"
    assert ep["EndpointConfigName"] == "ic-cfg"
    assert "Inference component ic cannot be placed on the new instances" in ep["FailureReason"]
    assert copies(sm, "ic") == (1, 1)
