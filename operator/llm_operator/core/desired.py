"""What should exist in SageMaker for one LLMEndpoint: the exact requests, no I/O.

The planner compares this with what SageMaker reports; `render` is the only
place that knows how a spec becomes SageMaker requests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_operator.api import catalog
from llm_operator.api.engines import CPU_ENGINES
from llm_operator.api.models import (
    DEFAULT_CONCURRENCY_THRESHOLD,
    DEFAULT_PREFIX_LENGTH,
    DEFAULT_ROUTING,
    MAX_MODEL_ENVIRONMENT_BYTES,
    PLACEMENT_STRATEGIES,
    ROUTING_STRATEGIES,
    ZONE_BALANCE_MODES,
    EndpointTypeName,
    LLMEndpointSpec,
)
from llm_operator.core import engines, images, naming
from llm_operator.core.registry import Package
from llm_operator.core.rollout import DesiredRollout, desired_rollout, owned_alarms

MANAGED_BY = "sagemaker-llm-operator"
MANAGED_BY_TAG = "llmoperator.io/managed-by"
NAMESPACE_TAG = "llmoperator.io/namespace"
NAME_TAG = "llmoperator.io/name"
UID_TAG = "llmoperator.io/uid"
CLUSTER_TAG = "llmoperator.io/cluster"
# The cluster that made a resource, without configuration: its kube-system Namespace's
# uid. `audit` and adoption tell another cluster's resources from orphans by it.
CLUSTER_ID_TAG = "llmoperator.io/cluster-id"
# On what deletionPolicy Retain kept: when its LLMEndpoint was deleted (RFC 3339), so
# `llm-operator audit` tells it from an orphan long after the Retained Event expired.
RETAINED_TAG = "llmoperator.io/retained"


@dataclass(frozen=True)
class Owner:
    """The LLMEndpoint that owns a set of SageMaker resources."""

    namespace: str
    name: str
    uid: str
    # The operator's cluster identity; "" (no identity) keeps the names and tags of
    # resources created before cluster identities existed.
    cluster: str = ""
    # The cluster's automatic identifier (kube-system's uid): tagged, never in names.
    cluster_id: str = ""


@dataclass(frozen=True)
class DesiredModel:
    name: str
    # CreateModel keyword arguments without Tags (ModelName included).
    create_request: Mapping[str, Any]


@dataclass(frozen=True)
class DesiredEndpointConfig:
    name: str
    # CreateEndpointConfig keyword arguments without Tags.
    create_request: Mapping[str, Any]
    instance_type: str
    initial_instance_count: int


@dataclass(frozen=True)
class DesiredComponent:
    """An inference component: the base model, or one LoRA adapter on it."""

    name: str
    # The `Specification` member of Create/UpdateInferenceComponent.
    specification: Mapping[str, Any]
    # RuntimeConfig.CopyCount; None for adapters, which follow their base.
    copies: int | None
    base_component: str | None = None
    adapter: str | None = None  # the spec's adapter name, for status


COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
# spec.autoscaling.metric -> predefined metric, per endpoint type.
PREDEFINED_METRICS: Mapping[tuple[EndpointTypeName, str], str] = {
    ("InferenceComponent", "ConcurrentRequests"): (
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    ),
    ("InferenceComponent", "Invocations"): "SageMakerInferenceComponentInvocationsPerCopy",
    ("Model", "ConcurrentRequests"): "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    ("Model", "Invocations"): "SageMakerVariantInvocationsPerInstance",
}


@dataclass(frozen=True)
class DesiredFromZero:
    """Scale to zero and back (minReplicas 0): a step policy fired by an alarm."""

    policy_name: str
    # PutScalingPolicy's StepScalingPolicyConfiguration.
    step: Mapping[str, Any]
    alarm_name: str
    # PutMetricAlarm keyword arguments without AlarmName, AlarmActions and Tags.
    alarm: Mapping[str, Any]


@dataclass(frozen=True)
class DesiredScaling:
    """spec.autoscaling as Application Auto Scaling and CloudWatch requests."""

    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int
    policy_name: str
    # PutScalingPolicy's TargetTrackingScalingPolicyConfiguration.
    target_tracking: Mapping[str, Any]
    from_zero: DesiredFromZero | None = None

    def clamp(self, count: int) -> int:
        return min(max(count, self.min_capacity), self.max_capacity)


@dataclass(frozen=True)
class Adopted:
    """What an adoption tagged as ours (status.adopted), by name.

    Until `completed` (the endpoint served our own endpoint config) these are
    still the hand-made resources: deletion gives them back instead of deleting them.
    """

    endpoint: str
    endpoint_configs: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    components: frozenset[str] = frozenset()
    completed: bool = False


@dataclass(frozen=True)
class Host:
    """The LLMEndpointPool whose endpoint an LLMEndpoint with spec.pool is placed on.

    The endpoint and its config are the pool's (tagged with `uid`): the LLMEndpoint
    never creates, updates or deletes them, and owns only its model, components and
    their autoscaling.
    """

    namespace: str
    name: str
    uid: str
    endpoint_name: str


@dataclass(frozen=True)
class DesiredState:
    owner: Owner
    region: str
    endpoint_type: EndpointTypeName
    endpoint_name: str
    model: DesiredModel
    endpoint_config: DesiredEndpointConfig
    # Base component first, then adapters; empty for Model endpoints.
    components: tuple[DesiredComponent, ...] = ()
    # Ownership tags plus the user's tags, put on every resource.
    tags: Mapping[str, str] = field(default_factory=dict)
    # spec.rollout as SageMaker's DeploymentConfig; None: updates go unguarded.
    rollout: DesiredRollout | None = None
    # spec.autoscaling; None: fixed copies (or instances).
    scaling: DesiredScaling | None = None
    # metadata.deletionTimestamp once the LLMEndpoint is being deleted (RFC 3339).
    deleted_at: str | None = None
    # status.adopted: what annotation llmoperator.io/adopt-endpoint took over.
    adopted: Adopted | None = None
    # spec.pool: the pool whose endpoint this LLMEndpoint's components are placed on.
    host: Host | None = None
    # spec.model.modelPackage: the package version the model is made from.
    package: Package | None = None
    # Versions of its group an alarm rolled back (not retried until a newer one).
    not_retried: tuple[int, ...] = ()
    # (reason, message): served on although something is wrong (Degraded, not Failed).
    notices: tuple[tuple[str, str], ...] = ()
    # The name its own CloudWatch alarms derive from (the no-capacity alarm, the
    # rollback alarms): its endpoint's, or on a pool the one its own endpoint would
    # have, so that the models sharing a pool's endpoint never want one alarm name.
    alarm_stem: str = ""

    @property
    def alarms_named_after(self) -> str:
        return self.alarm_stem or self.endpoint_name


class RenderError(ValueError):
    """The spec cannot be turned into SageMaker requests (validation reports it first)."""


# Salt for the token's digest: the model hash depends on the token only through this.
_TOKEN_DIGEST_SALT = b"llmoperator.io/hf-token\x00"


def token_digest(token: str) -> str:
    """One-way digest standing in for the token wherever content is hashed."""
    return "sha256:" + hashlib.sha256(_TOKEN_DIGEST_SALT + token.encode("utf-8")).hexdigest()


def ownership_tags(owner: Owner) -> dict[str, str]:
    tags = {
        MANAGED_BY_TAG: MANAGED_BY,
        NAMESPACE_TAG: owner.namespace,
        NAME_TAG: owner.name,
        UID_TAG: owner.uid,
    }
    if owner.cluster:
        tags[CLUSTER_TAG] = owner.cluster
    if owner.cluster_id:
        tags[CLUSTER_ID_TAG] = owner.cluster_id
    return tags


def render(
    spec: LLMEndpointSpec,
    owner: Owner,
    *,
    hf_token: str | None,
    generation: int = 0,
    endpoint_name: str | None = None,
    host: Host | None = None,
    base_on_pool: bool = False,
    package: Package | None = None,
) -> DesiredState:
    """The SageMaker resources `spec` asks for, as exact boto3 request kwargs.

    `generation` is the LLMEndpoint's metadata.generation: a refused rollout names it.
    `endpoint_name`: an adopted endpoint's name instead of the derived one (the
    other resources keep their derived names). `base_on_pool`: on a pool, the base
    component keeps the standalone name it was placed with (`-base`, not `-pool`).
    """
    serverless = spec.serverless is not None
    itype = None if serverless else catalog.instance_type(spec.instance_spec.type)
    if itype is None and not serverless:
        raise RenderError(
            f"instance type {spec.instance_spec.type} is not in the operator's instance catalog"
        )
    region = spec.aws.region
    neuron = itype is not None and itype.accelerator_kind == "neuron"
    ns, name, cluster = owner.namespace, owner.name, owner.cluster
    ic = spec.endpoint_type == "InferenceComponent"
    resources = spec.effective_resources
    num_gpus = resources.accelerators_per_copy if ic else (itype.accelerators if itype else 0)
    if spec.model.model_package is not None:
        if package is None:
            raise RenderError("the model package to serve is not known yet")
        model = _package_model(spec, ns, name, cluster, package, hf_token)
    else:
        try:
            image = spec.model.image or default_image(spec)
        except images.ImageLookupError as exc:
            raise RenderError(str(exc)) from None
        model = _model(spec, ns, name, cluster, image, num_gpus, hf_token, neuron)
    config = _endpoint_config(spec, ns, name, cluster, model.name)
    components = (
        _components(
            spec, ns, name, cluster, model.name, pooled=host is not None and not base_on_pool
        )
        if ic
        else ()
    )
    tags = {**spec.aws.tags, **ownership_tags(owner)}
    endpoint = own = endpoint_name or naming.endpoint_name(ns, name, cluster)
    if host is not None:
        endpoint = host.endpoint_name
    scaling = _scaling(spec, endpoint, components[0].name if components else None, own)
    return DesiredState(
        owner=owner,
        region=region,
        endpoint_type=spec.endpoint_type,
        endpoint_name=endpoint,
        model=model,
        endpoint_config=config,
        components=components,
        tags=tags,
        rollout=(
            desired_rollout(
                spec.rollout,
                spec.endpoint_type,
                generation,
                owned_alarms(
                    spec.rollout,
                    endpoint_name=own,
                    variant_name=naming.variant_name(),
                    component_name=components[0].name if components else None,
                    owner=f"{ns}/{name}",
                ),
            )
            if spec.rollout is not None
            else None
        ),
        scaling=scaling,
        host=host,
        package=package if spec.model.model_package is not None else None,
        alarm_stem=own,
    )


def image_kind(spec: LLMEndpointSpec) -> images.Kind:
    """Which of the engine's images the endpoint runs: serverless capacity takes the CPU
    image; an instance type without accelerators takes it where the engine has one
    (TEI), else the GPU image as before (which serves CPUs too); Neuron types the Neuron's."""
    engine = engines.engine_of(spec.model)
    if spec.serverless is not None:
        return "cpu"
    itype = catalog.instance_type(spec.instance_spec.type)
    if itype is not None and itype.accelerator_kind == "neuron":
        return "neuron"
    if itype is not None and itype.accelerators == 0 and engine in CPU_ENGINES:
        return "cpu"
    return "gpu"


def default_image(spec: LLMEndpointSpec) -> str:
    """The engine's image for the region, the kind `image_kind` picks, and version."""
    engine = engines.engine_of(spec.model)
    return images.image_uri(engine, spec.aws.region, spec.model.version, image_kind(spec))


def _vpc(spec: LLMEndpointSpec) -> dict[str, Any] | None:
    vpc = spec.aws.vpc
    if vpc is None:
        return None
    return {"SecurityGroupIds": list(vpc.security_group_ids), "Subnets": list(vpc.subnets)}


def _model(
    spec: LLMEndpointSpec,
    ns: str,
    name: str,
    cluster: str,
    image: str,
    num_gpus: int,
    hf_token: str | None,
    neuron: bool,
) -> DesiredModel:
    env = engines.environment(
        spec.model,
        num_gpus=num_gpus,
        hf_token=hf_token,
        adapters=len(spec.adapters),
        neuron=neuron,
        prefix_caching=spec.effective_routing.uses_cache,
    )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if size > MAX_MODEL_ENVIRONMENT_BYTES:
        raise RenderError(
            f"the model's container environment would be {size} bytes, over SageMaker's "
            f"limit of {MAX_MODEL_ENVIRONMENT_BYTES} bytes for all keys and values: "
            "shorten model.env"
        )
    container: dict[str, Any] = {"Image": image, "Environment": env}
    uri = spec.model.artifact_uri
    if uri is not None and uri.endswith("/"):
        container["ModelDataSource"] = {
            "S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
        }
    elif uri is not None:
        container["ModelDataUrl"] = uri
    request: dict[str, Any] = {
        "ExecutionRoleArn": spec.aws.execution_role_arn,
        "PrimaryContainer": container,
    }
    vpc = _vpc(spec)
    if vpc is not None:
        request["VpcConfig"] = vpc
    # Hash what the model holds, with the token replaced by its digest.
    hashed_env = dict(env)
    if "HF_TOKEN" in hashed_env:
        hashed_env["HF_TOKEN"] = token_digest(hashed_env["HF_TOKEN"])
    content = {**request, "PrimaryContainer": {**container, "Environment": hashed_env}}
    model_name = naming.model_name(ns, name, content, cluster)
    return DesiredModel(name=model_name, create_request={"ModelName": model_name, **request})


def _package_model(
    spec: LLMEndpointSpec,
    ns: str,
    name: str,
    cluster: str,
    package: Package,
    hf_token: str | None,
) -> DesiredModel:
    """A model whose container is the package's (ModelPackageName), with model.env over
    its environment. The token goes in only when the spec references one, and never
    into a package that runs isolated (validation refuses that: it could not use it)."""
    env = dict(spec.model.env)
    if hf_token is not None and not package.isolation:
        env["HF_TOKEN"] = hf_token
    container: dict[str, Any] = {"ModelPackageName": package.arn}
    if env:
        container["Environment"] = env
    request: dict[str, Any] = {
        "ExecutionRoleArn": spec.aws.execution_role_arn,
        "Containers": [container],
    }
    if package.isolation:
        request["EnableNetworkIsolation"] = True
    vpc = _vpc(spec)
    if vpc is not None:
        request["VpcConfig"] = vpc
    hashed = dict(env)
    if "HF_TOKEN" in hashed:
        hashed["HF_TOKEN"] = token_digest(hashed["HF_TOKEN"])
    content = {**request, "Containers": [{**container, "Environment": hashed}]}
    model_name = naming.model_name(ns, name, content, cluster)
    return DesiredModel(name=model_name, create_request={"ModelName": model_name, **request})


def _serverless_config(
    spec: LLMEndpointSpec, ns: str, name: str, cluster: str, model_name: str
) -> DesiredEndpointConfig:
    """One model variant on serverless capacity: ServerlessConfig, no instance fields."""
    assert spec.serverless is not None
    sl = spec.serverless
    serverless: dict[str, Any] = {
        "MemorySizeInMB": sl.memory_mib,
        "MaxConcurrency": sl.max_concurrency,
    }
    if sl.provisioned_concurrency is not None:
        serverless["ProvisionedConcurrency"] = sl.provisioned_concurrency
    variant = {
        "VariantName": naming.variant_name(),
        "ModelName": model_name,
        "ServerlessConfig": serverless,
    }
    request: dict[str, Any] = {"ProductionVariants": [variant]}
    config_name = naming.endpoint_config_name(ns, name, request, cluster)
    return DesiredEndpointConfig(
        name=config_name,
        create_request={"EndpointConfigName": config_name, **request},
        instance_type="",
        initial_instance_count=0,
    )


def _endpoint_config(
    spec: LLMEndpointSpec, ns: str, name: str, cluster: str, model_name: str
) -> DesiredEndpointConfig:
    if spec.serverless is not None:
        return _serverless_config(spec, ns, name, cluster, model_name)
    inst = spec.instance_spec
    variant: dict[str, Any] = {
        "VariantName": naming.variant_name(),
        "InstanceType": inst.type,
        "InitialInstanceCount": inst.count,
    }
    if inst.inference_ami_version is not None:
        variant["InferenceAmiVersion"] = inst.inference_ami_version
    request: dict[str, Any] = {"ProductionVariants": [variant]}
    if spec.endpoint_type == "InferenceComponent":
        if inst.scaling:
            low = inst.min_count if inst.min_count is not None else inst.count
            high = inst.max_count if inst.max_count is not None else max(inst.count, low, 1)
            variant["ManagedInstanceScaling"] = {
                "Status": "ENABLED",
                "MinInstanceCount": low,
                "MaxInstanceCount": high,
            }
        variant["RoutingConfig"] = _routing_config(spec)
        request["ExecutionRoleArn"] = spec.aws.execution_role_arn
        vpc = _vpc(spec)
        if vpc is not None:
            request["VpcConfig"] = vpc
    else:
        variant["ModelName"] = model_name
        variant["InitialVariantWeight"] = 1.0
        if spec.effective_routing.strategy != DEFAULT_ROUTING:
            variant["RoutingConfig"] = _routing_config(spec)
    if spec.async_inference is not None:
        request["AsyncInferenceConfig"] = async_inference_config(spec)
    config_name = naming.endpoint_config_name(ns, name, request, cluster)
    return DesiredEndpointConfig(
        name=config_name,
        create_request={"EndpointConfigName": config_name, **request},
        instance_type=inst.type,
        initial_instance_count=inst.count,
    )


# --- spec.routing -------------------------------------------------------------------


def _routing_config(spec: LLMEndpointSpec) -> dict[str, Any]:
    """The variant's RoutingConfig. Inference-component endpoints always carried one
    (LeastOutstandingRequests), so an unset spec.routing renders exactly that; Model
    endpoints carry one only for another strategy, so their configs keep their names."""
    routing = spec.effective_routing
    config: dict[str, Any] = {"RoutingStrategy": ROUTING_STRATEGIES[routing.strategy]}
    if routing.strategy == "PrefixAware":
        config["PrefixAwareRoutingConfig"] = {
            "PrefixLength": routing.prefix_length or DEFAULT_PREFIX_LENGTH,
            "ConcurrencyThreshold": routing.concurrency_threshold or DEFAULT_CONCURRENCY_THRESHOLD,
        }
    return config


def _serving_members(spec: LLMEndpointSpec) -> dict[str, Any]:
    """The base component's DataCacheConfig (resources.cacheModelData) and
    SchedulingConfig (resources.placement), each only when set, so components that set
    neither keep the specification they always had."""
    res = spec.effective_resources
    members: dict[str, Any] = {}
    if res.cache_model_data is not None:
        members["DataCacheConfig"] = {"EnableCaching": res.cache_model_data}
    placement = res.placement
    if placement is not None:
        scheduling: dict[str, Any] = {"PlacementStrategy": PLACEMENT_STRATEGIES[placement.strategy]}
        zones = placement.availability_zone_balance
        if zones is not None:
            balance: dict[str, Any] = {"EnforcementMode": ZONE_BALANCE_MODES[zones.mode]}
            if zones.max_imbalance is not None:
                balance["MaxImbalance"] = zones.max_imbalance
            scheduling["AvailabilityZoneBalance"] = balance
        members["SchedulingConfig"] = scheduling
    return members


def _components(
    spec: LLMEndpointSpec, ns: str, name: str, cluster: str, model_name: str, *, pooled: bool
) -> tuple[DesiredComponent, ...]:
    res = spec.effective_resources
    compute: dict[str, Any] = {
        "NumberOfCpuCoresRequired": float(res.cpus_per_copy),
        "MinMemoryRequiredInMb": res.memory_mib_per_copy,
    }
    if res.accelerators_per_copy > 0:
        compute["NumberOfAcceleratorDevicesRequired"] = res.accelerators_per_copy
    naming_base = naming.pooled_base_component_name if pooled else naming.base_component_name
    base_name = naming_base(ns, name, cluster)
    base = DesiredComponent(
        name=base_name,
        specification={
            "ModelName": model_name,
            "ComputeResourceRequirements": compute,
            **_serving_members(spec),
        },
        copies=res.copies,
    )
    adapters = tuple(
        DesiredComponent(
            name=naming.adapter_component_name(ns, name, a.name, cluster, pooled=pooled),
            specification={
                "BaseInferenceComponentName": base_name,
                "Container": {"ArtifactUrl": a.artifact_uri},
            },
            copies=None,
            base_component=base_name,
            adapter=a.name,
        )
        for a in spec.adapters
    )
    return (base, *adapters)


def _scaling(
    spec: LLMEndpointSpec, endpoint: str, base_component: str | None, alarm_stem: str
) -> DesiredScaling | None:
    auto = spec.autoscaling
    if auto is None:
        return None
    if base_component is not None:
        resource_id = naming.component_resource_id(base_component)
        dimension = COMPONENT_DIMENSION
    else:
        resource_id = naming.variant_resource_id(endpoint, naming.variant_name())
        dimension = VARIANT_DIMENSION
    if spec.async_inference is not None:
        return _async_scaling(spec, endpoint, resource_id, dimension)
    from_zero = None
    if auto.min_replicas == 0 and base_component is not None:
        # As AWS documents scaling an endpoint to zero: an invocation that finds no
        # copy fails and counts in NoCapacityInvocationFailures; the alarm on it adds one.
        from_zero = DesiredFromZero(
            policy_name=naming.from_zero_policy_name(endpoint),
            step=_add_one("Maximum", auto.scale_out_cooldown_seconds),
            alarm_name=naming.no_capacity_alarm_name(alarm_stem),
            alarm={
                "AlarmDescription": f"Brings inference component {base_component} back from "
                "zero copies when an invocation finds none",
                "MetricName": NO_CAPACITY_METRIC,
                "Namespace": "AWS/SageMaker",
                "Statistic": "Maximum",
                "Dimensions": [{"Name": "InferenceComponentName", "Value": base_component}],
                "Period": 30,
                "EvaluationPeriods": 1,
                "DatapointsToAlarm": 1,
                **_AT_LEAST_ONE,
            },
        )
    return DesiredScaling(
        resource_id=resource_id,
        dimension=dimension,
        min_capacity=auto.min_replicas,
        max_capacity=auto.max_replicas,
        policy_name=naming.target_tracking_policy_name(endpoint),
        target_tracking={
            "TargetValue": float(auto.target),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": PREDEFINED_METRICS[(spec.endpoint_type, auto.metric)]
            },
            "ScaleInCooldown": auto.scale_in_cooldown_seconds,
            "ScaleOutCooldown": auto.scale_out_cooldown_seconds,
        },
        from_zero=from_zero,
    )


# --- asynchronous endpoints (endpointType Async) ---------------------------------------------
BACKLOG_PER_INSTANCE_METRIC = "ApproximateBacklogSizePerInstance"
BACKLOG_WITHOUT_CAPACITY_METRIC = "HasBacklogWithoutCapacity"


def async_inference_config(spec: LLMEndpointSpec) -> dict[str, Any]:
    """CreateEndpointConfig's AsyncInferenceConfig from spec.async."""
    a = spec.async_inference
    assert a is not None
    output: dict[str, Any] = {"S3OutputPath": a.output_s3_uri}
    if a.failure_s3_uri is not None:
        output["S3FailurePath"] = a.failure_s3_uri
    notification: dict[str, Any] = {}
    if a.success_topic_arn is not None:
        notification["SuccessTopic"] = a.success_topic_arn
    if a.error_topic_arn is not None:
        notification["ErrorTopic"] = a.error_topic_arn
    if notification:
        output["NotificationConfig"] = notification
    config: dict[str, Any] = {"OutputConfig": output}
    if a.max_concurrent_invocations_per_instance is not None:
        config["ClientConfig"] = {
            "MaxConcurrentInvocationsPerInstance": a.max_concurrent_invocations_per_instance
        }
    return config


# The alarms that bring an endpoint back from zero fire on one or more.
_AT_LEAST_ONE: dict[str, Any] = {
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "missing",
}


def _add_one(aggregation: str, cooldown: int) -> dict[str, Any]:
    """The step policy of a scale from zero: one more, whenever its alarm fires."""
    return {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": aggregation,
        "Cooldown": cooldown,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }


def _async_scaling(
    spec: LLMEndpointSpec, endpoint: str, resource_id: str, dimension: str
) -> DesiredScaling:
    """Target tracking on the backlog per instance; with minReplicas 0, AWS's documented
    way back from zero: an alarm on HasBacklogWithoutCapacity fires a step policy adding
    one instance (target tracking alone has no instance to divide the backlog by)."""
    auto = spec.autoscaling
    assert auto is not None
    dimensions = [{"Name": "EndpointName", "Value": endpoint}]
    from_zero = None
    if auto.min_replicas == 0:
        from_zero = DesiredFromZero(
            policy_name=naming.from_zero_policy_name(endpoint),
            step=_add_one("Average", auto.scale_out_cooldown_seconds),
            alarm_name=naming.no_capacity_alarm_name(endpoint),
            alarm={
                "AlarmDescription": f"Brings asynchronous endpoint {endpoint} back from zero "
                "instances when requests wait in its queue",
                "MetricName": BACKLOG_WITHOUT_CAPACITY_METRIC,
                "Namespace": "AWS/SageMaker",
                "Statistic": "Average",
                "Dimensions": dimensions,
                "Period": 60,
                "EvaluationPeriods": 2,
                "DatapointsToAlarm": 2,
                **_AT_LEAST_ONE,
            },
        )
    return DesiredScaling(
        resource_id=resource_id,
        dimension=dimension,
        min_capacity=auto.min_replicas,
        max_capacity=auto.max_replicas,
        policy_name=naming.target_tracking_policy_name(endpoint),
        target_tracking={
            "TargetValue": float(auto.target),
            "CustomizedMetricSpecification": {
                "MetricName": BACKLOG_PER_INSTANCE_METRIC,
                "Namespace": "AWS/SageMaker",
                "Dimensions": dimensions,
                "Statistic": "Average",
            },
            "ScaleInCooldown": auto.scale_in_cooldown_seconds,
            "ScaleOutCooldown": auto.scale_out_cooldown_seconds,
        },
        from_zero=from_zero,
    )
