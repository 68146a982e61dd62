"""moto's server next to the emulator, for STS and Application Auto Scaling (not our code).

moto 5.2's Application Auto Scaling predates inference components and rejects
the `sagemaker:inference-component:DesiredCopyCount` dimension that scale to
zero needs; `allow_inference_component_scaling()` adds it to moto's list.
"""

from __future__ import annotations

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


class MotoSidecar:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        allow_inference_component_scaling()
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
