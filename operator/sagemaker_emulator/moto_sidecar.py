"""moto's server next to the emulator, for STS, Application Auto Scaling and CloudWatch.

moto 5.2's Application Auto Scaling predates inference components and rejects
the `sagemaker:inference-component:DesiredCopyCount` dimension that scale to
zero needs; `allow_inference_component_scaling()` adds it to moto's list. It
does not implement DescribeScalingActivities either; `serve_scaling_activities()`
adds it, answering with the activities the emulator's autoscaler records
(autoscaling.py) on moto's backend.
"""

from __future__ import annotations

import json
import socket
from enum import Enum
from typing import Any

INFERENCE_COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


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


ACTIVITIES = "emulator_scaling_activities"  # attribute of moto's backend (autoscaling.py)


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


class MotoSidecar:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        allow_inference_component_scaling()
        serve_scaling_activities()
        self.host = host
        self.port = port or free_port(host)
        self._server: Any = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoSidecar:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
