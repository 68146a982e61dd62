"""moto's server next to the emulator, for STS and Application Auto Scaling (not our code)."""

from __future__ import annotations

import socket
from typing import Any


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class MotoSidecar:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

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
