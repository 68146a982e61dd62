"""The project's own programs as child processes: the SageMaker emulator and the operator.

Both run through their console scripts (never imported), so the end-to-end tests
and the demo exercise exactly what a user runs.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_cluster import processes
from local_cluster.ports import free_port
from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient

if TYPE_CHECKING:
    from local_cluster.forkserver import ForkServer

_LISTENING = re.compile(r"sagemaker-emulator listening on (http://\S+)")
_MOTO = re.compile(r"moto listening on (http://\S+)")

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


def emulator_aws_env(url: str) -> dict[str, str]:
    """Environment that points boto3 (and so the operator) at the emulator serving `url`,
    whether a child process or an in-process server."""
    return {
        **EMULATOR_AWS_ENV,
        "AWS_ENDPOINT_URL_SAGEMAKER": url,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url,
    }


def _log_text(log: Path) -> str:
    try:
        return log.read_text(errors="replace")
    except OSError:
        return ""


class Emulator:
    """A running sagemaker-emulator; `url` is what AWS_ENDPOINT_URL_SAGEMAKER takes."""

    def __init__(
        self, proc: subprocess.Popen[bytes], url: str, log: Path, moto_url: str | None = None
    ):
        self.proc = proc
        self.url = url
        self.log = log
        self.moto_url = moto_url  # with --with-moto: STS, CloudWatch, Application Auto Scaling

    @classmethod
    def start(
        cls,
        log: Path,
        *,
        delay: float = 0.2,
        args: Sequence[str] = (),
        timeout: float = 60.0,
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

        def address() -> str | None:
            match = _LISTENING.search(_log_text(log))
            if match:
                return match.group(1)
            if proc.poll() is not None:
                raise ServiceError(
                    f"sagemaker-emulator exited with {proc.returncode}:\n{_log_text(log)[-2000:]}"
                )
            return None

        try:
            url = wait_for(
                address,
                what="sagemaker-emulator to print its address",
                timeout=timeout,
                interval=0.05,
                diagnose=lambda: _log_text(log)[-2000:],
                error=ServiceError,
            )
            moto_url = None
            if "--with-moto" in args:

                def moto() -> str | None:
                    found = _MOTO.search(_log_text(log))
                    if found:
                        return found.group(1)
                    address()  # raises if the emulator exited meanwhile
                    return None

                moto_url = wait_for(
                    moto,
                    what="moto to print its address",
                    timeout=timeout,
                    interval=0.05,
                    diagnose=lambda: _log_text(log)[-2000:],
                    error=ServiceError,
                )
        except BaseException:
            processes.stop(proc)
            raise
        return cls(proc, url, log, moto_url)

    @property
    def aws_env(self) -> dict[str, str]:
        """Environment that points boto3 (and so the operator) at this emulator (and moto)."""
        env = emulator_aws_env(self.url)
        if self.moto_url:
            env["AWS_ENDPOINT_URL_CLOUDWATCH"] = self.moto_url
            env["AWS_ENDPOINT_URL_STS"] = self.moto_url
            env["AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING"] = self.moto_url
            # Asynchronous inference: requests and answers in moto's S3, notifications in SNS.
            env["AWS_ENDPOINT_URL_S3"] = self.moto_url
            env["AWS_ENDPOINT_URL_SNS"] = self.moto_url
        return env

    @functools.cached_property
    def admin_client(self) -> AdminClient:
        """The typed client of the emulator's /_emulator/ admin API."""
        return AdminClient(self.url)

    def admin(self, path: str, *, method: str = "GET", body: Any = None) -> Any:
        """Any admin route by path, for those `admin_client` has no method for."""
        return self.admin_client._call(method, path.lstrip("/"), body)

    def state(self) -> Any:
        return self.admin_client.state()

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
        inherit_settings: bool = True,
        forkserver: ForkServer | None = None,
    ):
        """`inherit_aws=False` drops the caller's AWS_* variables (profiles, real
        credentials), so an operator meant for the emulator can never reach AWS;
        `inherit_settings=False` drops the caller's LLMOP_* so only `env` configures it.
        With a `forkserver`, each start is a fork of it rather than a new interpreter
        (the same entry point, without importing everything again)."""
        self.forkserver = forkserver
        self.inherit_aws = inherit_aws
        self.inherit_settings = inherit_settings
        self.kubeconfig = kubeconfig
        self.log = log
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.proc: processes.Child | None = None
        self.health_port = 0
        self.metrics_port = 0
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _inherited(self, key: str) -> bool:
        if key.startswith("AWS_"):
            return self.inherit_aws
        if key.startswith("LLMOP_"):
            return self.inherit_settings
        return True

    def start(self) -> Operator:
        if self.running:
            raise ServiceError("operator already running")
        # Ports the caller sets win; otherwise each start gets fresh ones.
        self.health_port = int(self.extra_env.get("LLMOP_HEALTH_PORT") or free_port())
        self.metrics_port = int(self.extra_env.get("LLMOP_METRICS_PORT") or free_port())
        env = {
            **{k: v for k, v in os.environ.items() if self._inherited(k)},
            "PYTHONUNBUFFERED": "1",
            "LLMOP_HEALTH_PORT": str(self.health_port),
            "LLMOP_METRICS_PORT": str(self.metrics_port),
            **self.extra_env,
            "KUBECONFIG": str(self.kubeconfig),
        }
        self.starts += 1
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
        if self.forkserver is not None:
            with self.log.open("ab") as log, open(os.devnull, "rb") as devnull:
                self.proc = self.forkserver.spawn(
                    "llm-operator",
                    ["run", *self.args],
                    env=env,
                    stdin=devnull.fileno(),
                    stdout=log.fileno(),
                    stderr=log.fileno(),
                )
            return self
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

    def wait_healthy(self, timeout: float = 60.0) -> Operator:
        def probe() -> bool:
            if not self.running:
                raise ServiceError(f"llm-operator exited early:\n{self.log_tail()}")
            return self.healthy()

        wait_for(
            probe,
            what="llm-operator to be healthy",
            timeout=timeout,
            interval=0.1,
            diagnose=self.log_tail,
            error=ServiceError,
        )
        return self

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

    def logs(self) -> str:
        """Everything every start of this operator logged."""
        return _log_text(self.log)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the operator's /metrics with exactly these labels (0 when absent)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            sample, _, value = line.rpartition(" ")
            metric, _, label_text = sample.partition("{")
            got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
            if metric == name and got == wanted:
                return float(value)
        return 0.0
