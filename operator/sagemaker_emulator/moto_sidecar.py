"""moto's server next to the emulator, for STS, Application Auto Scaling and CloudWatch.

While it runs, a request signed with credentials moto's STS issued for an
assumed role lands in that role's account (`assumed_role_account`), so
resources created under a role carry its account in their ARNs.

moto 5.2's Application Auto Scaling predates inference components and rejects
the `sagemaker:inference-component:DesiredCopyCount` dimension that scale to
zero needs; `allow_inference_component_scaling()` adds it to moto's list. It
does not implement DescribeScalingActivities either; `serve_scaling_activities()`
adds it, answering with the activities the emulator's autoscaler records
(autoscaling.py) on moto's backend. `manage_sagemaker_alarms()` makes moto do
two more things AWS does: a target tracking policy on a SageMaker target gets
its AlarmHigh / AlarmLow CloudWatch alarms (deleted with the policy), and
deregistering a scalable target deletes its policies.

Nor does moto 5.2 keep the Tags of RegisterScalableTarget or implement
TagResource / UntagResource / ListTagsForResource for Application Auto Scaling,
which the operator's ownership rule relies on (it changes a scalable target
only when its uid tag names the LLMEndpoint); and its DescribeScalableTargets
hands back the same NextToken from the second page on, so listing more than 100
targets never ends. `serve_scalable_target_tags()` adds the tags and fixes the
paging.
"""

from __future__ import annotations

import json
import uuid
from enum import Enum
from typing import Any

from . import wire
from .autoscaling import ACTIVITIES

INFERENCE_COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def allow_inference_component_scaling() -> None:
    """Teach moto's Application Auto Scaling the inference component dimension (idempotent)."""
    from moto.applicationautoscaling import models, responses

    current: Any = models.ScalableDimensionValueSet
    values = {member.name: member.value for member in current}
    if INFERENCE_COMPONENT_DIMENSION in values.values():
        return
    values["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = INFERENCE_COMPONENT_DIMENSION
    make_enum: Any = Enum
    extended = make_enum("ScalableDimensionValueSet", values)
    for module in (models, responses):
        setattr(module, "ScalableDimensionValueSet", extended)  # noqa: B010


def serve_scaling_activities() -> None:
    """Add DescribeScalingActivities to moto's Application Auto Scaling (idempotent)."""
    from moto.applicationautoscaling import responses

    handler: Any = responses.ApplicationAutoScalingResponse
    if hasattr(handler, "describe_scaling_activities"):
        return

    def describe_scaling_activities(self: Any) -> str:
        activities = list(getattr(self.applicationautoscaling_backend, ACTIVITIES, []))
        wanted = {
            "ServiceNamespace": self._get_param("ServiceNamespace"),
            "ResourceId": self._get_param("ResourceId"),
            "ScalableDimension": self._get_param("ScalableDimension"),
        }
        chosen = [
            dict(a)
            for a in reversed(activities)  # newest first, as AWS answers
            if all(value is None or a[key] == value for key, value in wanted.items())
        ]
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 50)
        answer: dict[str, Any] = {"ScalingActivities": chosen[start : start + size]}
        if start + size < len(chosen):
            answer["NextToken"] = str(start + size)
        return json.dumps(answer)

    setattr(handler, "describe_scaling_activities", describe_scaling_activities)  # noqa: B010


TAGS = "emulator_scalable_target_tags"  # attribute of moto's backend: ARN -> tags


def _tag_table(backend: Any) -> dict[str, dict[str, str]]:
    if not hasattr(backend, TAGS):
        setattr(backend, TAGS, {})
    table: dict[str, dict[str, str]] = getattr(backend, TAGS)
    return table


def serve_scalable_target_tags() -> None:
    """Scalable-target tags and DescribeScalableTargets paging for moto (idempotent)."""
    from moto.applicationautoscaling import responses

    handler: Any = responses.ApplicationAutoScalingResponse
    if getattr(handler, "_emulator_tags", False):
        return
    register = handler.register_scalable_target
    deregister = handler.deregister_scalable_target

    def register_scalable_target(self: Any) -> str:
        answer: str = register(self)
        tags = self._get_param("Tags") or {}
        if tags:
            arn = json.loads(answer)["ScalableTargetARN"]
            _tag_table(self.applicationautoscaling_backend).setdefault(arn, {}).update(tags)
        return answer

    def deregister_scalable_target(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        key = (
            self._get_param("ServiceNamespace"),
            self._get_param("ResourceId"),
            self._get_param("ScalableDimension"),
        )
        arns = [
            t.arn
            for targets in backend.targets.values()
            for t in targets.values()
            if (t.service_namespace, t.resource_id, t.scalable_dimension) == key
        ]
        answer: str = deregister(self)
        for arn in arns:
            _tag_table(backend).pop(arn, None)
        return answer

    def list_tags_for_resource(self: Any) -> str:
        tags = _tag_table(self.applicationautoscaling_backend).get(
            self._get_param("ResourceARN"), {}
        )
        return json.dumps({"Tags": tags})

    def tag_resource(self: Any) -> str:
        table = _tag_table(self.applicationautoscaling_backend)
        table.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        tags = _tag_table(self.applicationautoscaling_backend).get(
            self._get_param("ResourceARN"), {}
        )
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return json.dumps({})

    def describe_scalable_targets(self: Any) -> str:
        found = self.applicationautoscaling_backend.describe_scalable_targets(
            self._get_param("ServiceNamespace"),
            self._get_param("ResourceIds"),
            self._get_param("ScalableDimension"),
        )
        size = self._get_int_param("MaxResults") or 50
        start = int(self._get_param("NextToken") or 0)
        page = [responses._build_target(t) for t in found[start : start + size]]
        answer: dict[str, Any] = {"ScalableTargets": page}
        if start + size < len(found):
            answer["NextToken"] = str(start + size)
        return json.dumps(answer)

    for name, method in {
        "describe_scalable_targets": describe_scalable_targets,
        "register_scalable_target": register_scalable_target,
        "deregister_scalable_target": deregister_scalable_target,
        "list_tags_for_resource": list_tags_for_resource,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
        "_emulator_tags": True,
    }.items():
        setattr(handler, name, method)


# predefined metric -> (CloudWatch metric, period) of the alarms AWS creates for it
TRACKED_METRICS = {
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": (
        "ConcurrentRequestsPerCopy",
        10,
    ),
    "SageMakerInferenceComponentInvocationsPerCopy": ("InvocationsPerCopy", 60),
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": ("ConcurrentRequestsPerModel", 10),
    "SageMakerVariantInvocationsPerInstance": ("InvocationsPerInstance", 60),
}


def _sagemaker_alarms(policy: Any) -> list[Any]:
    """AlarmHigh (3 datapoints above the target) and AlarmLow (15 below 90% of it)."""
    from moto.cloudwatch.models import cloudwatch_backends

    config = policy.target_tracking_scaling_policy_configuration or {}
    metric_type = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    custom = config.get("CustomizedMetricSpecification") or {}
    parts = policy.resource_id.split("/")
    if custom.get("MetricName"):  # an async endpoint's backlog, with its own dimensions
        metric, period = str(custom["MetricName"]), 60
        dimensions = [dict(d) for d in custom.get("Dimensions") or []]
    elif metric_type not in TRACKED_METRICS:
        return []
    elif parts[0] == "inference-component":
        metric, period = TRACKED_METRICS[metric_type]
        dimensions = [{"Name": "InferenceComponentName", "Value": parts[1]}]
    else:
        metric, period = TRACKED_METRICS[metric_type]
        dimensions = [
            {"Name": "EndpointName", "Value": parts[1]},
            {"Name": "VariantName", "Value": parts[3]},
        ]
    cloudwatch = cloudwatch_backends[policy.account_id][policy.region_name]
    action = f"{policy.policy_arn}:createdBy/{uuid.uuid4()}"
    target = float(config.get("TargetValue", 0))
    alarms = []
    for side, periods, threshold, operator in (
        ("AlarmHigh", 3, target, "GreaterThanThreshold"),
        ("AlarmLow", 15, target * 0.9, "LessThanThreshold"),
    ):
        if side == "AlarmLow" and config.get("DisableScaleIn"):
            continue
        alarms.append(
            cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{policy.resource_id}-{side}-{uuid.uuid4()}",
                namespace="AWS/SageMaker",
                metric_name=metric,
                comparison_operator=operator,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                period=period,
                threshold=threshold,
                statistic="Average",
                description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}.",
                dimensions=dimensions,
                alarm_actions=[action],
            )
        )
    return alarms


def manage_sagemaker_alarms() -> None:
    """Target tracking alarms for SageMaker targets; deregistering deletes policies."""
    from moto.applicationautoscaling import models

    policy_class: Any = models.FakeApplicationAutoscalingPolicy
    if getattr(policy_class, "_emulator_patched", False):
        return
    create_alarms = policy_class.create_alarms

    def create_alarms_too(self: Any) -> None:
        create_alarms(self)
        if self.policy_type == "TargetTrackingScaling" and self.service_namespace == "sagemaker":
            self.alarms.extend(_sagemaker_alarms(self))

    backend_class: Any = models.ApplicationAutoscalingBackend
    deregister = backend_class.deregister_scalable_target

    def deregister_with_policies(self: Any, namespace: str, r_id: str, dimension: str) -> None:
        deregister(self, namespace, r_id, dimension)
        for key, policy in list(self.policies.items()):
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
                namespace,
                r_id,
                dimension,
            ):
                policy.delete_alarms(self.account_id, self.region_name)
                del self.policies[key]

    setattr(policy_class, "create_alarms", create_alarms_too)  # noqa: B010
    setattr(backend_class, "deregister_scalable_target", deregister_with_policies)  # noqa: B010
    setattr(policy_class, "_emulator_patched", True)  # noqa: B010


def assumed_role_account(access_key: str) -> str | None:
    """The account of the role moto's STS issued `access_key` for, None if it issued none."""
    from moto.sts.models import sts_backends

    for account_id, partitions in list(sts_backends.items()):
        for backend in list(partitions.values()):
            if backend.get_assumed_role_from_access_key(access_key) is not None:
                return str(account_id)
    return None


class MotoSidecar:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        allow_inference_component_scaling()
        serve_scaling_activities()
        manage_sagemaker_alarms()
        serve_scalable_target_tags()
        self.host = host
        self.port = port  # 0: the kernel picks one as the server binds, known after start()
        self._server: Any = ThreadedMotoServer(ip_address=host, port=port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoSidecar:
        self._server.start()
        self.port = int(self._server.get_host_and_port()[1])
        if assumed_role_account not in wire.key_accounts:
            wire.key_accounts.append(assumed_role_account)
        return self

    def stop(self) -> None:
        self._server.stop()
        if assumed_role_account in wire.key_accounts:
            wire.key_accounts.remove(assumed_role_account)
