"""Small helpers that create SageMaker resources through boto3 for the conformance tests."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
)


def model(
    sm: Any, name: str = "llm-model", model_id: str = "meta-llama/Llama-3.1-8B-Instruct"
) -> str:
    arn: str = sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": IMAGE,
            "Environment": {"HF_MODEL_ID": model_id, "SM_NUM_GPUS": "1"},
        },
        ExecutionRoleArn=ROLE,
    )["ModelArn"]
    return arn


def model_config(
    sm: Any, name: str, model_name: str, instance: str = "ml.g5.2xlarge", count: int = 1
) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InstanceType": instance,
                "InitialInstanceCount": count,
            }
        ],
    )


def component_config(
    sm: Any,
    name: str,
    instance: str = "ml.g5.12xlarge",
    count: int = 1,
    scaling: tuple[int, int] | None = None,
    routing: dict[str, Any] | None = None,
) -> None:
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "InstanceType": instance,
        "InitialInstanceCount": count,
        "RoutingConfig": routing or {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }
    if scaling is not None:
        variant["ManagedInstanceScaling"] = {
            "Status": "ENABLED",
            "MinInstanceCount": scaling[0],
            "MaxInstanceCount": scaling[1],
        }
    sm.create_endpoint_config(
        EndpointConfigName=name, ExecutionRoleArn=ROLE, ProductionVariants=[variant]
    )


def component(
    sm: Any,
    name: str,
    endpoint: str,
    model_name: str = "llm-model",
    gpus: int = 1,
    memory_mb: int = 8192,
    copies: int = 1,
    **serving: Any,
) -> None:
    """`serving`: more Specification members (DataCacheConfig, SchedulingConfig)."""
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification={
            "ModelName": model_name,
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": gpus,
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": memory_mb,
            },
            **serving,
        },
        RuntimeConfig={"CopyCount": copies},
    )


def package_spec(
    model_id: str = "meta-llama/Llama-3.1-8B-Instruct",
    instance_types: list[str] | None = None,
    image: str = IMAGE,
) -> dict[str, Any]:
    """A model package's InferenceSpecification: one container serving `model_id`."""
    spec: dict[str, Any] = {
        "Containers": [
            {
                "Image": image,
                "ModelDataUrl": "s3://models/support-bot/model.tar.gz",
                "Environment": {"HF_MODEL_ID": model_id, "SM_NUM_GPUS": "1"},
            }
        ],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    if instance_types:
        spec["SupportedRealtimeInferenceInstanceTypes"] = instance_types
    return spec


def package_version(
    sm: Any, group: str = "support-bot", status: str | None = None, **extra: Any
) -> str:
    """Register the group's next version (PendingManualApproval unless `status`); its ARN."""
    params: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "InferenceSpecification": package_spec(),
    }
    if status:
        params["ModelApprovalStatus"] = status
    params.update(extra)
    arn: str = sm.create_model_package(**params)["ModelPackageArn"]
    return arn


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    """(code, message) of the ClientError a call raises."""
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as raised:
        return raised.response["Error"]["Code"], raised.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__} did not fail")
