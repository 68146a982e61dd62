"""Serverless endpoints: ServerlessConfig checked as SageMaker checks it, and cold starts.

SageMaker serverless capacity is CPU only, 1024 to 6144 MB of memory in 1024 MB steps
and 1 to 200 concurrent invocations; ProvisionedConcurrency (at most MaxConcurrency)
keeps that many warm. A variant on it has no instance type or count, runs alone in its
endpoint config, and has no VPC, data capture, network isolation or inference
components. The first invocation after the endpoint sat idle waits for a cold start:
AWS_COLD_START_SECONDS scaled like every AWS duration (one --delay stands for 300 AWS
seconds), or the cold start set on the emulator (POST /_emulator/cold-start), as given.
An endpoint is idle once no invocation arrived for AWS_IDLE_SECONDS, scaled alike.
"""

from __future__ import annotations

from typing import Any

from .deployments import AWS_SECONDS_PER_DELAY
from .errors import AwsError, validation
from .state import Record, Store

MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_CONCURRENCY = 200
AWS_COLD_START_SECONDS = 10.0
AWS_IDLE_SECONDS = 300.0


def is_serverless(variant: dict[str, Any]) -> bool:
    return bool(variant.get("ServerlessConfig"))


def check_config(params: dict[str, Any], models: dict[str, Record]) -> None:
    """CreateEndpointConfig's checks of serverless variants, in SageMaker's words."""
    variants = params["ProductionVariants"]
    serverless = [v for v in variants if is_serverless(v)]
    if not serverless:
        return
    if len(variants) > 1:
        raise validation(
            "Serverless endpoint configurations support exactly one production variant; "
            f"found {len(variants)}."
        )
    variant = serverless[0]
    name = variant["VariantName"]
    for key in ("InstanceType", "InitialInstanceCount", "ManagedInstanceScaling"):
        if key in variant:
            raise validation(
                f"{key} cannot be specified for production variant {name} with "
                "ServerlessConfig: serverless variants run without instances."
            )
    if not variant.get("ModelName"):
        raise validation(
            f"ModelName is required for production variant {name} with ServerlessConfig: "
            "serverless endpoints do not host inference components."
        )
    config = variant["ServerlessConfig"]
    memory = int(config["MemorySizeInMB"])
    if memory not in MEMORY_SIZES:
        raise validation(
            f"1 validation error detected: Value '{memory}' at "
            "'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to satisfy "
            "constraint: Member must be one of 1024, 2048, 3072, 4096, 5120, 6144."
        )
    most = int(config["MaxConcurrency"])
    if not 1 <= most <= MAX_CONCURRENCY:
        raise validation(
            f"1 validation error detected: Value '{most}' at "
            "'productionVariants.1.member.serverlessConfig.maxConcurrency' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_CONCURRENCY}."
        )
    warm = config.get("ProvisionedConcurrency")
    if warm is not None and not 1 <= int(warm) <= most:
        raise validation(
            f"ProvisionedConcurrency ({warm}) must be between 1 and MaxConcurrency ({most}) "
            f"for production variant {name}."
        )
    excluded = {
        "DataCaptureConfig": "data capture",
        "VpcConfig": "VPC configuration",
        "AsyncInferenceConfig": "asynchronous inference",
        "ShadowProductionVariants": "shadow variants",
        "ExplainerConfig": "explainers",
    }
    for key, what in excluded.items():
        if params.get(key):
            raise validation(f"Serverless endpoint configurations do not support {what} ({key}).")
    model = models.get(variant["ModelName"]) or {}
    if model.get("VpcConfig"):
        raise validation(
            f"Model {variant['ModelName']} has a VpcConfig: serverless endpoints do not "
            "support VPC configuration."
        )
    if model.get("EnableNetworkIsolation"):
        raise validation(
            f"Model {variant['ModelName']} enables network isolation: serverless endpoints do "
            "not support it."
        )


def check_update(old_config: Record, new_config: Record) -> None:
    """UpdateEndpoint cannot move an endpoint between serverless and instances."""
    before = any(is_serverless(v) for v in old_config.get("ProductionVariants", []))
    after = any(is_serverless(v) for v in new_config.get("ProductionVariants", []))
    if before != after:
        raise AwsError(
            "ValidationException",
            "Cannot update an endpoint between a serverless and an instance-based endpoint "
            "configuration.",
        )


def describe_variant(variant: Record) -> Record:
    """A serverless variant as DescribeEndpoint shows it: its serverless configs, no
    instance counts (kept inside for the state machine)."""
    if "CurrentServerlessConfig" not in variant:
        return variant
    out = dict(variant)
    for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
        out.pop(key, None)
    return out


def cold_start_seconds(store: Store) -> float:
    """The emulator's cold start: set on it, else AWS's scaled like every AWS duration."""
    if store.cold_start is not None:
        return store.cold_start
    return AWS_COLD_START_SECONDS * store.delay / AWS_SECONDS_PER_DELAY


def setup_time(store: Store, endpoint: Record, config: dict[str, Any], now: float) -> float:
    """Seconds this invocation waits for capacity: a cold start after idle, unless
    provisioned concurrency keeps the endpoint warm. Counts cold starts on the endpoint."""
    variants = config.get("ProductionVariants") or [{}]
    serverless = variants[0].get("ServerlessConfig")
    if not serverless:
        return 0.0
    last = endpoint.get("_LastInvoked")
    endpoint["_LastInvoked"] = now
    if serverless.get("ProvisionedConcurrency"):
        return 0.0
    idle = AWS_IDLE_SECONDS * store.delay / AWS_SECONDS_PER_DELAY
    if last is not None and now - float(last) <= idle:
        return 0.0
    endpoint["_ColdStarts"] = int(endpoint.get("_ColdStarts", 0)) + 1
    return cold_start_seconds(store)
