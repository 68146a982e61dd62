"""The kinds of AWS resource the operator manages, and how their APIs name them.

All are SageMaker's, except the CloudWatch alarms (spec.rollout.autoRollback, and the
no-capacity alarm of spec.autoscaling) and the Application Auto Scaling scalable
targets and scaling policies of spec.autoscaling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SAGEMAKER = "sagemaker"
CLOUDWATCH = "cloudwatch"
APPLICATION_AUTOSCALING = "application-autoscaling"


@dataclass(frozen=True)
class _Api:
    describe: str  # the Describe call
    name_member: str  # request and response member holding the resource's name
    arn_member: str
    status_member: str | None  # where Describe and List put the status; None: no status


# Spelled out (not derived) so the IAM policy test finds every call the code makes.
_APIS = {
    "model": _Api("DescribeModel", "ModelName", "ModelArn", None),
    "endpoint config": _Api(
        "DescribeEndpointConfig", "EndpointConfigName", "EndpointConfigArn", None
    ),
    "endpoint": _Api("DescribeEndpoint", "EndpointName", "EndpointArn", "EndpointStatus"),
    "inference component": _Api(
        "DescribeInferenceComponent",
        "InferenceComponentName",
        "InferenceComponentArn",
        "InferenceComponentStatus",
    ),
    "alarm": _Api("DescribeAlarms", "AlarmName", "AlarmArn", None),
    # Named by ResourceId; observed from the region's shared listings, not one by one.
    "scalable target": _Api("DescribeScalableTargets", "ResourceId", "ScalableTargetARN", None),
    "scaling policy": _Api("DescribeScalingPolicies", "PolicyName", "PolicyARN", None),
}


class Kind(StrEnum):
    """A kind of AWS resource; its value is how messages name it."""

    MODEL = "model"
    ENDPOINT_CONFIG = "endpoint config"
    ENDPOINT = "endpoint"
    INFERENCE_COMPONENT = "inference component"
    # A CloudWatch alarm the operator creates for spec.rollout.autoRollback.
    ALARM = "alarm"
    # spec.autoscaling (observed from the region's shared listings).
    SCALABLE_TARGET = "scalable target"
    SCALING_POLICY = "scaling policy"

    @property
    def service(self) -> str:
        """The boto3 service name of the API that manages this kind."""
        return {
            Kind.ALARM: CLOUDWATCH,
            Kind.SCALABLE_TARGET: APPLICATION_AUTOSCALING,
            Kind.SCALING_POLICY: APPLICATION_AUTOSCALING,
        }.get(self, SAGEMAKER)

    @property
    def describe(self) -> str:
        return _APIS[self.value].describe

    @property
    def name_member(self) -> str:
        return _APIS[self.value].name_member

    @property
    def arn_member(self) -> str:
        return _APIS[self.value].arn_member

    @property
    def status_member(self) -> str | None:
        return _APIS[self.value].status_member
