"""The project's own programs as child processes: the SageMaker emulator and the operator.

Both run through their console scripts (never imported), so the end-to-end tests
and the demo exercise exactly what a user runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from local_cluster import processes
from local_cluster.cluster import free_port

_LISTENING = re.compile(r"sagemaker-emulator listening on (http://\S+)")

# Dummy credentials and region for talking to the emulator; nothing reaches AWS.
EMULATOR_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class ServiceError(RuntimeError):
    """A child program did not start or answer as expected."""


def console_script(name: str) -> str:
    """The console script next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def _wait_for_line(log: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        match = _LISTENING.search(text)
        if match:
            return match.group(1)
        if proc.poll() is not None:
            raise ServiceError(f"sagemaker-emulator exited with {proc.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    raise ServiceError(f"sagemaker-emulator printed no address within {timeout:.0f} s")


class Emulator:
    """A running sagemaker-emulator; `url` is what AWS_ENDPOINT_URL_SAGEMAKER takes."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path):
        self.proc = proc
        self.url = url
        self.log = log

    @classmethod
    def start(
        cls, log: Path, *, delay: float = 0.2, args: Sequence[str] = (), timeout: float = 60.0
    ) -> Emulator:
        argv = [
            console_script("sagemaker-emulator"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--delay",
            str(delay),
            *args,
        ]
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_bytes(b"")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = processes.spawn(argv, log=log, env=env)
        try:
            url = _wait_for_line(log, proc, timeout)
        except BaseException:
            processes.stop(proc)
            raise
        return cls(proc, url, log)

    @property
    def aws_env(self) -> dict[str, str]:
        """Environment that points boto3 (and so the operator) at this emulator."""
        return {
            **EMULATOR_AWS_ENV,
            "AWS_ENDPOINT_URL_SAGEMAKER": self.url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.url,
        }

    def admin(self, path: str, *, method: str = "GET", body: Any = None) -> Any:
        """Call the emulator's admin API under /_emulator/ and return the JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def state(self) -> Any:
        return self.admin("state")

    def stop(self) -> None:
        processes.stop(self.proc)


class Operator:
    """`llm-operator run` as a child process, restartable and killable."""

    def __init__(
        self,
        *,
        kubeconfig: Path,
        log: Path,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        inherit_aws: bool = False,
    ):
        """`inherit_aws=False` drops the caller's AWS_* variables (profiles, real
        credentials), so an operator meant for the emulator can never reach AWS."""
        self.inherit_aws = inherit_aws
        self.kubeconfig = kubeconfig
        self.log = log
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.health_port = 0
        self.metrics_port = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Operator:
        if self.running:
            raise ServiceError("operator already running")
        self.health_port, self.metrics_port = free_port(), free_port()
        inherited = {
            k: v for k, v in os.environ.items() if self.inherit_aws or not k.startswith("AWS_")
        }
        env = {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "LLMOP_HEALTH_PORT": str(self.health_port),
            "LLMOP_METRICS_PORT": str(self.metrics_port),
            **self.extra_env,
            "KUBECONFIG": str(self.kubeconfig),
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = processes.spawn(
            [console_script("llm-operator"), "run", *self.args], log=self.log, env=env
        )
        return self

    def healthy(self) -> bool:
        """True once the operator's /healthz answers 200."""
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise ServiceError(f"llm-operator exited early:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise ServiceError(f"llm-operator not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer handling, exactly like a crash."""
        if self.proc is not None:
            processes.kill(self.proc)
            self.proc = None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        code = processes.stop(self.proc, timeout=15.0)
        self.proc = None
        return code

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
