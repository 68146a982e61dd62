"""`make demo`: an LLMEndpoint reaching Ready on a local control plane, watched live.

Local mode (default): builds or reuses the pinned binaries, starts kube-apiserver +
etcd, the SageMaker emulator and the operator, applies an example and prints each
change of its status until Ready, then keeps running until Ctrl-C.

With KUBECONFIG set (and DEMO_LOCAL unset or 0) it uses that cluster instead and
runs the operator against real AWS, unless AWS_ENDPOINT_URL_SAGEMAKER points
elsewhere; the LLMEndpoint it applied is deleted again on exit.

Environment: DEMO_EXIT_WHEN_READY=1 (exit 0 once Ready), DEMO_LOCAL=1,
DEMO_EXAMPLE, DEMO_DELAY (emulator seconds per transition), DEMO_TIMEOUT.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from local_cluster import binaries
from local_cluster.cluster import LocalCluster, run_kubectl
from local_cluster.llmendpoints import condition, is_failed, is_ready
from local_cluster.services import Emulator, Operator, console_script

REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXAMPLE = REPO / "examples" / "mistral-7b-inference-components.yaml"
DEMO_PROMPT = "What is Amazon SageMaker?"
CRD = REPO / "crds" / "llmendpoints.yaml"


class DemoFailed(Exception):
    """The LLMEndpoint failed or did not become Ready in time."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--exit-when-ready",
        action="store_true",
        default=_truthy(os.environ.get("DEMO_EXIT_WHEN_READY")),
        help="exit 0 once the LLMEndpoint is Ready (env DEMO_EXIT_WHEN_READY=1)",
    )
    p.add_argument(
        "--local",
        action="store_true",
        default=_truthy(os.environ.get("DEMO_LOCAL")),
        help="use a local control plane even when KUBECONFIG is set (env DEMO_LOCAL=1)",
    )
    p.add_argument(
        "--example",
        type=Path,
        default=Path(os.environ.get("DEMO_EXAMPLE") or DEFAULT_EXAMPLE),
        help="manifest to apply (env DEMO_EXAMPLE)",
    )
    p.add_argument(
        "--delay",
        type=float,
        default=float(os.environ.get("DEMO_DELAY") or 3.0),
        help="emulator seconds per SageMaker transition (env DEMO_DELAY, default 3)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("DEMO_TIMEOUT") or 900.0),
        help="seconds to wait for Ready (env DEMO_TIMEOUT, default 900)",
    )
    return p.parse_args(argv)


def _say(message: str) -> None:
    print(message, flush=True)


class Demo:
    def __init__(self, args: argparse.Namespace, stack: ExitStack):
        self.args = args
        self.stack = stack
        self.workdir = (
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            / "sagemaker-llm-operator"
            / "demo"
        )
        self.kubeconfig = Path()
        self.emulator: Emulator | None = None
        self.operator: Operator | None = None
        self.started = time.monotonic()

    def kubectl(self, *argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = run_kubectl(argv, self.kubeconfig, input=input)
        if result.returncode != 0:
            raise DemoFailed(f"kubectl {' '.join(argv)}: {result.stderr.strip()}")
        return result

    # -- set-up -----------------------------------------------------------------

    def start_local(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        _say("==> control-plane binaries (built once from the Go module proxy, then cached)")
        found = binaries.ensure()
        _say(f"    {found.bin_dir}")
        _say("==> starting etcd and kube-apiserver on loopback")
        cluster = LocalCluster(found.bin_dir, workdir=self.workdir / "cluster")
        self.stack.callback(cluster.stop, remove_workdir=False)
        cluster.start()
        self.kubeconfig = cluster.kubeconfig
        _say(f"    {cluster.server} ready in {cluster.startup_seconds:.1f} s")
        _say(f"==> starting the SageMaker emulator (--delay {self.args.delay:g} s per transition)")
        # moto next to it gives CloudWatch, so `llm-operator audit` can tell idle endpoints.
        self.emulator = Emulator.start(
            self.workdir / "emulator.log", delay=self.args.delay, args=["--with-moto"]
        )
        self.stack.callback(self.emulator.stop)
        _say(f"    {self.emulator.url}")

    def start_operator(self, aws_env: dict[str, str], *, inherit_aws: bool) -> None:
        _say("==> installing the LLMEndpoint CRD")
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
        # `kubectl wait` fails at once on a CRD the API server has written no condition
        # for yet (".status.conditions accessor error"): try again for a while.
        for _ in range(100):
            try:
                self.kubectl(
                    "wait",
                    "--for=condition=Established",
                    "--timeout=60s",
                    "crd/llmendpoints.llmoperator.io",
                )
                break
            except DemoFailed as exc:
                if "accessor error" not in str(exc):
                    raise
                time.sleep(0.2)
        _say("==> starting the operator (llm-operator run)")
        # Poll fast against the emulator; real SageMaker throttles below about 5 s.
        emulated = "AWS_ENDPOINT_URL_SAGEMAKER" in {**os.environ, **aws_env}
        env = {"LLMOP_TRANSITION_POLL_SECONDS": "1" if emulated else "5", **aws_env}
        self.operator = Operator(
            kubeconfig=self.kubeconfig,
            log=self.workdir / "operator.log",
            env=env,
            inherit_aws=inherit_aws,
        )
        self.stack.callback(self.operator.stop)
        self.operator.start()
        self.operator.wait_healthy()
        _say(f"    log: {self.operator.log}")

    # -- the show ---------------------------------------------------------------

    def apply_example(self) -> tuple[str, str]:
        text = self.args.example.read_text()
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        target = next((d for d in docs if d.get("kind") == "LLMEndpoint"), None)
        if target is None:
            raise DemoFailed(f"{self.args.example} holds no LLMEndpoint")
        name = str(target["metadata"]["name"])
        namespace = str(target["metadata"].get("namespace") or "default")
        _say(f"==> kubectl apply -f {self.args.example}")
        _say(self.kubectl("apply", "-n", namespace, "-f", str(self.args.example)).stdout.rstrip())
        return namespace, name

    def watch(self, namespace: str, name: str) -> dict[str, Any]:
        """Print one line per status change; return the status once Ready."""
        began = time.monotonic()
        last = ""
        while True:
            elapsed = time.monotonic() - began
            if elapsed > self.args.timeout:
                raise DemoFailed(f"not Ready after {self.args.timeout:.0f} s")
            if self.operator is not None and not self.operator.running:
                raise DemoFailed(f"the operator exited:\n{self.operator.log_tail()}")
            obj = json.loads(
                self.kubectl("get", "llmendpoint", name, "-n", namespace, "-o", "json").stdout
            )
            status = obj.get("status") or {}
            line = _progress_line(status)
            if line != last:
                _say(f"  [{elapsed:6.1f}s] {line}")
                last = line
            if is_ready(obj):
                return dict(status)
            if is_failed(obj):
                reason = status.get("failureReason") or condition(obj, "Ready").get("message")
                raise DemoFailed(f"Failed: {reason}")
            time.sleep(0.5)

    def delete(self, namespace: str, name: str) -> None:
        """On a real cluster, remove what the demo created (SageMaker bills by the hour)."""
        _say(f"==> deleting LLMEndpoint {namespace}/{name} (the operator removes its resources)")
        try:
            self.kubectl("delete", "llmendpoint", name, "-n", namespace, "--timeout=900s")
        except DemoFailed as e:
            _say(f"    could not delete it, do it by hand: {e}")

    def report(self, namespace: str) -> None:
        _say("")
        _say(self.kubectl("get", "llme", "-n", namespace).stdout.rstrip())
        _say("")
        _say("Reach the cluster from another shell:")
        _say(f"  export KUBECONFIG={self.kubeconfig}")
        _say(f"  kubectl get llme -n {namespace}")
        _say(f"  kubectl describe llme -n {namespace}")
        if self.emulator is not None:
            _say(f"  curl -s {self.emulator.url}/_emulator/state   # what SageMaker holds")
            for key, value in self.emulator.aws_env.items():
                _say(f"  export {key}={value}")

    def invoke(self, namespace: str, name: str, aws_env: dict[str, str]) -> None:
        """Show how to talk to the model, then do it once."""
        argv = ["invoke", name, "-n", namespace, "--prompt", DEMO_PROMPT, "--max-tokens", "24"]
        _say("")
        _say("Ask the model (or: kubectl llme invoke ...):")
        _say(f"  llm-operator {' '.join(_quote(a) for a in argv)}")
        _say(f"==> llm-operator {' '.join(_quote(a) for a in argv)}")
        env = {**os.environ, **aws_env, "KUBECONFIG": str(self.kubeconfig)}
        result = subprocess.run(
            [console_script("llm-operator"), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for line in (result.stdout + result.stderr).rstrip().splitlines():
            _say(f"    {line}")
        if result.returncode != 0:
            raise DemoFailed(f"llm-operator invoke exited with {result.returncode}")


def _quote(arg: str) -> str:
    return f"'{arg}'" if " " in arg else arg


def _progress_line(status: dict[str, Any]) -> str:
    """phase, SageMaker status, counts, and the message of every condition that holds."""
    parts = [f"phase={status.get('phase') or '-'}"]
    if status.get("sagemakerStatus"):
        parts.append(f"sagemaker={status['sagemakerStatus']}")
    for key in ("copies", "instances"):
        value = status.get(key)
        if isinstance(value, dict):
            parts.append(f"{key}={value.get('current', '?')}/{value.get('desired', '?')}")
    seen: set[str] = set()
    for c in status.get("conditions") or []:
        message = c.get("message") or ""
        if c.get("status") == "True" and message not in seen:
            seen.add(message)
            parts.append(f"| {c.get('type')}: {message}")
    return "  ".join(parts)


@contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait_forever() -> None:
    while True:
        signal.pause()


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    remote_kubeconfig = os.environ.get("KUBECONFIG")
    local = args.local or not remote_kubeconfig
    with _terminate_on_sigterm(), ExitStack() as stack:
        demo = Demo(args, stack)
        try:
            if local:
                demo.start_local()
                assert demo.emulator is not None
                demo.start_operator(demo.emulator.aws_env, inherit_aws=False)
            else:
                assert remote_kubeconfig is not None
                demo.kubeconfig = Path(remote_kubeconfig.split(os.pathsep)[0])
                demo.workdir.mkdir(parents=True, exist_ok=True)
                target = os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER") or "real AWS (costs money)"
                _say(f"==> KUBECONFIG is set: using {demo.kubeconfig}; SageMaker: {target}")
                demo.start_operator({}, inherit_aws=True)
            namespace, name = demo.apply_example()
            if not local:
                stack.callback(demo.delete, namespace, name)
            _say(f"==> waiting for LLMEndpoint {namespace}/{name} to be Ready")
            demo.watch(namespace, name)
            _say(f"==> Ready after {time.monotonic() - demo.started:.1f} s in total")
            demo.report(namespace)
            demo.invoke(namespace, name, demo.emulator.aws_env if demo.emulator else {})
            if args.exit_when_ready:
                return 0
            _say("\nRunning; press Ctrl-C to stop everything.")
            _wait_forever()
        except KeyboardInterrupt:
            _say("\n==> stopping")
            return 0 if not args.exit_when_ready else 130
        except DemoFailed as e:
            _say(f"demo failed: {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
