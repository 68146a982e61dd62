"""How the operator scales with the number of LLMEndpoints it reconciles.

Starts a real kube-apiserver + etcd (local_cluster), the SageMaker emulator and
`llm-operator run` as subprocesses, creates --count LLMEndpoints (one
inference component, one copy on ml.g5.xlarge) spread over a few namespaces,
and measures what a replica with that many endpoints costs:

- time until all are Ready, and the Ready curve (plotted);
- SageMaker calls per endpoint by operation while creating them;
- SageMaker calls per endpoint per resync interval by operation once steady
  (the design's promise: Describe* does not grow as one per endpoint per interval);
- the operator's peak RSS (VmHWM) and CPU seconds per phase, and how long its
  /healthz takes to answer (served by kopf's event loop: a stall shows there);
- seconds from a spec change (copies 1 -> 2 on one endpoint) until SageMaker gets
  the update, and until the LLMEndpoint is Ready again, with all the others present
  (also once while the operator's background refresh saturates its rate limit);
- with --accounts N: the namespaces mapped to roles in N accounts (moto's STS),
  seconds to Ready per account, and with --throttle-rate F that fraction of the
  first account's SageMaker calls answered ThrottlingException (a proxy,
  bench/account_throttle.py): do the other accounts slow down?
- with --upgrade: the operator is stopped, the cluster-id tag removed from every
  resource (as an operator older than that tag left them) and the operator
  started again: seconds and calls until every resource carries the id again,
  and how many LLMEndpoints left Ready meanwhile;
- with --drift N: N LLMEndpoints changed by hand at random while steady, and the
  seconds until each is put back;
- with --restart: the operator killed with SIGKILL once steady and started again:
  seconds and calls until every LLMEndpoint has been passed over again, and how long
  spec changes made meanwhile take to reach SageMaker;
- with --tracemalloc: what the operator's Python objects hold by module once steady;
- the Kubernetes API requests of the steady window by verb and resource;
- with --policies N: N LLMEndpointPolicies govern every namespace, each with a default
  tag, an enforced tag, limits every LLMEndpoint meets and a budget large enough to
  admit them all: the same figures under policies (run it with and without to compare
  creation time and steady calls);
- with --model-packages N: each LLMEndpoint serves the latest approved version of one
  of N model registry groups (spec.model.modelPackage; one Approved version each):
  the steady calls include the groups' shared ListModelPackages (run it with and
  without to compare);
- with --pools N: the LLMEndpoints are placed on N LLMEndpointPools (spec.pool), each
  sized so its share fits; the calls include the pools' own, and the cost (sum of $/h)
  is the pools' (run it with and without to compare calls and cost).

    .venv/bin/python bench/operator_scale.py [--count 200] [--timeout 900] [--profile]
        [--autoscaling] [--policies 4] [--pools 20] [--model-packages 20] [--restart]
        [--drift 8] [--tracemalloc]

With --autoscaling every LLMEndpoint has spec.autoscaling (target tracking on
its copies), the emulator runs with moto beside it, and the call counts include
the operator's Application Auto Scaling and CloudWatch calls (read from its
llmop_aws_calls metric: those calls go to moto, which the emulator does not count).

Prints a table; writes a PNG plot, a JSON of the figures and the operator's log
to bench/results/ (see bench/README.md).
Every process it starts is stopped on exit, error, timeout or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import boto3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from account_throttle import AccountThrottle
from local_cluster import binaries, processes
from local_cluster.cluster import LocalCluster, free_port
from local_cluster.llmendpoints import is_ready, is_settled
from local_cluster.services import Emulator, emulator_aws_env
from sagemaker_emulator.admin import AdminClient

REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "llmendpoints.yaml"
CRD_NAME = "llmendpoints.llmoperator.io"
POLICY_CRD_FILE = REPO / "crds" / "llmendpointpolicies.yaml"
POLICY_CRD_NAME = "llmendpointpolicies.llmoperator.io"
POLICY_PLURAL = "llmendpointpolicies"
POOL_CRD_FILE = REPO / "crds" / "llmendpointpools.yaml"
POOL_CRD_NAME = "llmendpointpools.llmoperator.io"
POOL_PLURAL = "llmendpointpools"
# The label every bench namespace carries: what the --policies select.
BENCH_LABEL = "llmoperator.io/bench"
# The container of --model-packages' versions (the emulator serves it as TGI).
PACKAGE_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)
GROUP, VERSION, PLURAL = "llmoperator.io", "v1alpha1", "llmendpoints"
BIN = Path(sys.executable).parent
T = TypeVar("T")


class BenchTimeout(Exception):
    """The run went past --timeout."""


@dataclass
class Sample:
    at: float  # seconds since the first LLMEndpoint was submitted
    ready: int
    rss_mib: float
    calls: int


@dataclass
class Run:
    """Everything measured; filled phase by phase so a cut-short run still reports."""

    count: int
    started: float = 0.0  # monotonic time the first create was sent
    submitted_s: float | None = None
    all_ready_s: float | None = None
    all_settled_s: float | None = None  # Ready and Progressing=False
    creation_calls: dict[str, int] = field(default_factory=dict)
    ready_times: list[float] = field(default_factory=list)  # each one's first Ready, sorted
    steady_calls: dict[str, int] = field(default_factory=dict)
    # kube-apiserver's requests by "VERB resource" during the steady window
    steady_kube: dict[str, int] = field(default_factory=dict)
    steady_seconds: float = 0.0
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> process -> s
    changes: list[tuple[float, float | None]] = field(default_factory=list)
    busy_change: tuple[float, float] | None = None  # (calls/s when made, seconds to SageMaker)
    samples: list[Sample] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    healthz: list[tuple[str, float, float]] = field(default_factory=list)  # (phase, at, s)
    peak_rss_mib: float = 0.0
    final_rss_mib: float = 0.0
    load: list[tuple[str, tuple[float, float, float]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # --accounts: account -> seconds to Ready of each of its LLMEndpoints; calls, throttles
    account_ready: dict[str, list[float]] = field(default_factory=dict)
    account_calls: dict[str, tuple[int, int]] = field(default_factory=dict)
    # --upgrade: resources untagged, seconds until all tagged again, calls meanwhile,
    # the fewest LLMEndpoints Ready at once meanwhile
    upgrade_untagged: int = 0
    upgrade_s: float | None = None
    upgrade_calls: dict[str, int] = field(default_factory=dict)
    upgrade_min_ready: int | None = None
    # --restart: seconds from the kill -9 until every LLMEndpoint had a pass of the new
    # process and is InService; the calls meanwhile; seconds from each spec change made
    # right after the restart until SageMaker got it; the new process's start-up seconds
    restart_s: float | None = None
    restart_calls: dict[str, int] = field(default_factory=dict)
    restart_changes: list[float | None] = field(default_factory=list)
    restart_startup_s: float | None = None
    # --drift N: (kind of change by hand, seconds until the operator put it back or None)
    drift: list[tuple[str, float | None]] = field(default_factory=list)
    # --tracemalloc: MiB Python holds at the end of the steady window, in all and by
    # module; the RSS then
    traced_mib: float | None = None
    traced: dict[str, float] = field(default_factory=dict)
    traced_rss_mib: float | None = None
    # --policies: LLMEndpoints whose status.policy names all N policies, once Ready
    governed: int | None = None
    # On-demand USD per hour once steady: the pools' (--pools), else the LLMEndpoints'
    cost_per_hour: float | None = None


# -- /proc -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int, key: str) -> float:
    """A /proc/<pid>/status memory line (VmHWM: peak RSS, VmRSS: now) in MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# -- the LLMEndpoints ----------------------------------------------------------------


def llm_endpoint(name: str, namespace: str, autoscaling: bool = False) -> dict[str, Any]:
    """The examples/mistral-7b-inference-components.yaml shape, one copy on ml.g5.xlarge."""
    obj = _llm_endpoint(name, namespace)
    if autoscaling:
        obj["spec"]["autoscaling"] = {"minReplicas": 1, "maxReplicas": 2, "target": 4}
    return obj


def _llm_endpoint(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LLMEndpoint",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {
                "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1",
                "maxModelLength": 4096,
                "maxConcurrentRequests": 32,
            },
            "instance": {"type": "ml.g5.xlarge", "count": 1, "minCount": 1, "maxCount": 2},
            "endpointType": "InferenceComponent",
            "resources": {
                "copies": 1,
                "acceleratorsPerCopy": 1,
                "cpusPerCopy": 2,
                "memoryMiBPerCopy": 5120,
            },
            "aws": {
                "region": "us-east-1",
                "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
                "tags": {"team": "bench"},
            },
            "deletionPolicy": "Delete",
        },
    }


def package_group(index: int) -> str:
    return f"bench-llm-{index}"


def register_groups(url: str, count: int) -> None:
    """`count` model package groups, each with one Approved version, as pipelines leave
    them (in the operator's own account)."""
    sm = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIABENCH",
        aws_secret_access_key="not-a-secret",
    )
    for index in range(count):
        sm.create_model_package_group(ModelPackageGroupName=package_group(index))
        sm.create_model_package(
            ModelPackageGroupName=package_group(index),
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": PACKAGE_IMAGE,
                        "Environment": {"HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1"},
                    }
                ],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )


def on_pool(obj: dict[str, Any], pool: str, namespace: str) -> dict[str, Any]:
    """The same LLMEndpoint placed on a pool: spec.pool instead of spec.instance."""
    del obj["spec"]["instance"]
    obj["spec"]["pool"] = {"name": pool, "namespace": namespace}
    return obj


def bench_pool(
    name: str, namespace: str, instance_type: str, demands: list[Any], allowed: list[str]
) -> dict[str, Any]:
    """A pool with room for `demands` (core.pools.Demand): the fewest instances of its
    type that the operator's own placement packs them onto."""
    from llm_operator.api.pool import LLMEndpointPoolSpec
    from llm_operator.core import pools

    spec: dict[str, Any] = {
        "instance": {"type": instance_type, "minCount": 1, "maxCount": 1},
        "aws": {
            "region": "us-east-1",
            "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
            "tags": {"team": "bench"},
        },
        "allowedNamespaces": [n for n in allowed if n != namespace],
        "deletionPolicy": "Delete",
    }
    while True:
        parsed = LLMEndpointPoolSpec.model_validate(spec)
        last, others = demands[-1], demands[:-1]
        fits = pools.place(
            pool_namespace=namespace, pool_name=name, pool=parsed, newcomer=last, others=others
        )
        if fits.admitted or spec["instance"]["maxCount"] >= 1000:
            break
        spec["instance"]["maxCount"] += 1
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LLMEndpointPool",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def bench_policy(index: int, count: int) -> dict[str, Any]:
    """One of --policies: governs every bench namespace with a default tag, an enforced
    tag, limits every bench LLMEndpoint meets and a budget admitting all of them (at
    2 x ml.g5.xlarge, 2.816 USD/h, each)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LLMEndpointPolicy",
        "metadata": {"name": f"bench-{index}"},
        "spec": {
            "namespaceSelector": {"matchExpressions": [{"key": BENCH_LABEL, "operator": "Exists"}]},
            "defaults": {"aws": {"tags": {f"bench-default-{index}": "yes"}}},
            "enforcedTags": {f"bench-enforced-{index}": "yes"},
            "limits": {
                "allowedRegions": ["us-east-1"],
                "allowedInstanceTypes": ["ml.g5.*"],
                "allowedEngines": ["vllm"],
                "maxInstancesPerEndpoint": 4,
                "maxCopiesPerEndpoint": 8,
            },
            "budget": {
                "maxEndpoints": count,
                "maxCostPerHourUSD": f"{3 * count + 1}.00",
            },
        },
    }


class ReadyWatch:
    """Keeps every LLMEndpoint's latest body from a watch (a list each second would
    cost the API server and this process more than the operator under test)."""

    def __init__(self, api: Any) -> None:
        self._api = api
        self._objects: dict[str, dict[str, Any]] = {}
        self.first_ready: dict[str, float] = {}  # key -> monotonic time first seen Ready
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ready-watch", daemon=True)

    def start(self) -> ReadyWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def ready(self) -> int:
        with self._lock:
            return sum(1 for o in self._objects.values() if is_ready(o))

    def settled(self) -> int:
        with self._lock:
            return sum(1 for o in self._objects.values() if is_settled(o))

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.get(f"{namespace}/{name}")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                listed = self._api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
                with self._lock:
                    self._objects = {_key(o): o for o in listed["items"]}
                    for o in listed["items"]:
                        if is_ready(o):
                            self.first_ready.setdefault(_key(o), time.monotonic())
                version = listed["metadata"]["resourceVersion"]
                stream = k8s_watch.Watch().stream(  # type: ignore[no-untyped-call]
                    self._api.list_cluster_custom_object,
                    GROUP,
                    VERSION,
                    PLURAL,
                    resource_version=version,
                    timeout_seconds=30,
                )
                for event in stream:
                    obj = event["object"]
                    with self._lock:
                        if event["type"] == "DELETED":
                            self._objects.pop(_key(obj), None)
                        else:
                            self._objects[_key(obj)] = obj
                            if is_ready(obj):
                                self.first_ready.setdefault(_key(obj), time.monotonic())
                    if self._stop.is_set():
                        return
            except Exception:  # API hiccup or expired version: list again
                if self._stop.wait(0.5):
                    return


def _key(obj: dict[str, Any]) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


# -- processes -----------------------------------------------------------------------


def account_of(index: int) -> str:
    return f"{100000000001 + index:012d}"


def role_of(account: str) -> str:
    return f"arn:aws:iam::{account}:role/llm-operator-tenant-bench"


# The emulator with moto beside it, moto taught scalable-target tags (see that file).


def operator_aws_calls(port: int) -> dict[str, int]:
    """The operator's own count of its Application Auto Scaling and CloudWatch calls."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found: dict[str, int] = {}
    for line in text.splitlines():
        if not line.startswith("llmop_aws_calls_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        operation = labels.split('operation="', 1)[1].split('"', 1)[0]
        if operation in SCALING_OPERATIONS:
            found[operation] = found.get(operation, 0) + int(float(value))
    return found


def operator_phases(port: int) -> dict[str, int]:
    """The operator's count of the LLMEndpoints it has passed over, by phase
    (`llmop_endpoints`; an LLMEndpoint counts once its first pass finished)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return {}
    found: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("llmop_endpoints{"):
            labels, value = line.rsplit(" ", 1)
            phase = labels.split('phase="', 1)[1].split('"', 1)[0]
            found[phase] = int(float(value))
    return found


def apiserver_requests(cluster: LocalCluster) -> dict[str, int]:
    """kube-apiserver's own count of the requests it served, by "VERB resource"
    (`apiserver_request_total` from its /metrics; requests for paths that name no
    resource, like /healthz, left out)."""
    code, text = cluster.get("/metrics", timeout=30)
    if code != 200:
        raise RuntimeError(f"kube-apiserver /metrics answered {code}")
    found: dict[str, int] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, value = line.rsplit(" ", 1)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        resource = labels.get("resource", "")
        if not resource:
            continue
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        key = f"{labels.get('verb', '?')} {resource}"
        found[key] = found.get(key, 0) + int(float(value))
    return found


SCALING_OPERATIONS = frozenset(
    {
        "DescribeScalableTargets",
        "DescribeScalingPolicies",
        "DescribeScalingActivities",
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "ListTagsForResource",
        "DescribeAlarms",
        "PutMetricAlarm",
        "DeleteAlarms",
    }
)


def operator_env(
    args: argparse.Namespace,
    kubeconfig: Path,
    url: str,
    sts_url: str | None = None,
    moto: str | None = None,
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LLMOP_")) and k != "KUBECONFIG"
    }
    env.update(emulator_aws_env(url))
    env.update(
        KUBECONFIG=str(kubeconfig),
        LLMOP_RESYNC_SECONDS=str(args.resync),
        LLMOP_TRANSITION_POLL_SECONDS=str(args.poll),
        LLMOP_AWS_CALLS_PER_SECOND=str(args.calls_per_second),
        LLMOP_AWS_BURST=str(args.burst),
        LLMOP_WORKERS=str(args.workers),
        LLMOP_METRICS_PORT=str(args.metrics_port),
        LLMOP_HEALTH_PORT=str(args.health_port),
    )
    if sts_url is not None:
        env["AWS_ENDPOINT_URL_STS"] = sts_url
    if moto is not None:
        env.update(AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING=moto, AWS_ENDPOINT_URL_CLOUDWATCH=moto)
    return env


def healthz_seconds(port: int) -> float | None:
    """How long /healthz takes to answer (None: it did not answer in 10 s)."""
    began = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            r.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return time.monotonic() - began


# -- the benchmark -------------------------------------------------------------------


class Bench:
    """The processes under test and the phases run against them, bounded by --timeout."""

    def __init__(self, args: argparse.Namespace, run: Run) -> None:
        self.args = args
        self.run = run
        self.deadline: float = time.monotonic() + float(args.timeout)
        self.phase = "setup"
        self.operator: subprocess.Popen[bytes] | None = None
        self.emulator: Emulator | None = None
        self.cluster: LocalCluster | None = None
        self.admin: AdminClient | None = None
        self.watch: ReadyWatch | None = None
        self.throttle: AccountThrottle | None = None
        self._sampling = threading.Event()
        self._saturated_before = False
        self._created_from: dict[str, int] = {}  # call counters when the first create went out

    # -- helpers

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BenchTimeout(f"--timeout {self.args.timeout:.0f}s reached during {self.phase}")
        return remaining

    def wait_for(self, what: str, probe: Callable[[], T | None], interval: float = 0.2) -> T:
        while True:
            self.left()
            if self.operator is not None and self.operator.poll() is not None:
                raise RuntimeError(
                    f"the operator exited ({self.operator.returncode}) during {what}"
                )
            found = probe()
            if found:
                return found
            time.sleep(interval)

    def pids(self) -> dict[str, int]:
        found: dict[str, int] = {}
        if self.operator is not None:
            found["operator"] = self.operator.pid
        if self.emulator is not None:
            found["emulator"] = self.emulator.proc.pid
        if self.cluster is not None:
            for index, pid in enumerate(self.cluster.pids):
                found[("etcd", "kube-apiserver")[index] if index < 2 else str(pid)] = pid
        return found

    @contextlib.contextmanager
    def measured(self, phase: str) -> Iterator[None]:
        """Marks a phase on the plot and records CPU seconds per process during it."""
        self.phase = phase
        self.run.phases.append((phase, self.since()))
        print(f"[{self.since():7.1f}s] {phase}", file=sys.stderr, flush=True)
        self.run.load.append((phase, os.getloadavg()))
        # By process id too: a process started during the phase (a restarted operator)
        # counts from zero.
        before = {(name, pid): cpu_seconds(pid) for name, pid in self.pids().items()}
        try:
            yield
        finally:
            self.run.cpu[phase] = {
                name: cpu_seconds(pid) - before.get((name, pid), 0.0)
                for name, pid in self.pids().items()
            }

    def since(self) -> float:
        return time.monotonic() - self.run.started if self.run.started else 0.0

    def calls(self) -> dict[str, int]:
        assert self.admin is not None
        found = self.admin.calls()
        if self.args.autoscaling:
            found.update(operator_aws_calls(self.args.metrics_port))
        return found

    def _sample_loop(self) -> None:
        while not self._sampling.wait(self.args.sample_seconds):
            if not self.run.started or self.operator is None:
                continue
            pid = self.operator.pid  # a restart starts another process
            asked = self.since()
            took = healthz_seconds(self.args.health_port)
            self.run.healthz.append((self.phase, asked, took if took is not None else 10.0))
            try:
                total = sum(self.calls().values())
            except Exception:
                total = -1
            ready = self.watch.ready() if self.watch is not None else 0
            rss = memory_mib(pid, "VmRSS")
            self.run.samples.append(Sample(self.since(), ready, rss, total))
            self.run.peak_rss_mib = max(self.run.peak_rss_mib, memory_mib(pid, "VmHWM"))

    # -- phases

    def setup(self) -> None:
        args = self.args
        args.out.mkdir(parents=True, exist_ok=True)
        self.cluster = LocalCluster(binaries.ensure().bin_dir, startup_timeout=120)
        self.cluster.start()
        self.cluster.kubectl(
            "apply",
            "--server-side",
            "-f",
            str(CRD_FILE),
            "-f",
            str(POLICY_CRD_FILE),
            "-f",
            str(POOL_CRD_FILE),
        )
        self.cluster.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            f"crd/{CRD_NAME}",
            f"crd/{POLICY_CRD_NAME}",
            f"crd/{POOL_CRD_NAME}",
        )
        self.emulator = Emulator.start(
            args.out / "emulator.log",
            delay=args.delay,
            args=["--with-moto"] if args.accounts or args.autoscaling else [],
        )
        url = self.emulator.url
        self.admin = self.emulator.admin_client
        if args.model_packages:
            register_groups(url, args.model_packages)
        sts_url: str | None = None
        if args.accounts:
            emulator = self.emulator
            moto = self.wait_for("moto to listen", lambda: emulator.moto_url)
            self.throttle = AccountThrottle(url, moto).start()
            self.throttle.throttle(account_of(0), args.throttle_rate)
            url = sts_url = self.throttle.url
        self.api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.cluster.kubeconfig)
        )
        self.custom = k8s.CustomObjectsApi(self.api)
        core = k8s.CoreV1Api(self.api)
        self.namespaces = [f"bench-{i}" for i in range(args.namespaces)]
        for index, ns in enumerate(self.namespaces):
            annotations = (
                {"llmoperator.io/aws-role-arn": role_of(account_of(index % args.accounts))}
                if args.accounts
                else None
            )
            meta = k8s.V1ObjectMeta(name=ns, annotations=annotations, labels={BENCH_LABEL: ns})
            core.create_namespace(k8s.V1Namespace(metadata=meta))
        for index in range(args.policies):
            self.custom.create_cluster_custom_object(
                GROUP, VERSION, POLICY_PLURAL, bench_policy(index, args.count)
            )
        (args.out / "operator.log").unlink(missing_ok=True)
        self._sts_url = sts_url
        self._url = url
        self.start_operator()
        watch_api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.cluster.kubeconfig)
        )
        self.watch = ReadyWatch(k8s.CustomObjectsApi(watch_api)).start()
        threading.Thread(target=self._sample_loop, name="sampler", daemon=True).start()

    def start_operator(self) -> None:
        args = self.args
        assert self.cluster is not None and self.emulator is not None
        command: list[str | Path] = [BIN / "llm-operator"]
        if args.tracemalloc:
            command = [sys.executable, REPO / "bench" / "traced_operator.py", self.trace_path()]
        elif args.profile:
            # cProfile sees the main thread only: kopf's event loop, not boto3's workers.
            command = [sys.executable, "-m", "cProfile", "-o", self.profile_path()]
            command += ["-m", "llm_operator.cli"]
        self.operator = processes.spawn(
            [*command, "run", "--all-namespaces", "--standalone"],
            env=operator_env(
                args,
                self.cluster.kubeconfig,
                self._url,
                self._sts_url,
                self.emulator.moto_url if args.autoscaling else None,
            ),
            log=args.out / "operator.log",
        )
        self.wait_for("the operator's /healthz", lambda: healthz_seconds(args.health_port))

    def trace_path(self) -> Path:
        path: Path = self.args.out / f"operator_scale_{self.args.count}.tracemalloc"
        return path

    def memory_profile(self) -> None:
        """--tracemalloc: what the operator's Python objects hold now, by module."""
        import tracemalloc

        assert self.operator is not None
        path = self.trace_path()
        path.unlink(missing_ok=True)
        os.kill(self.operator.pid, signal.SIGUSR1)
        self.wait_for("the tracemalloc snapshot", path.exists, 0.5)
        stats = tracemalloc.Snapshot.load(str(path)).statistics("filename")
        by_module: dict[str, int] = {}
        for stat in stats:
            name = _module_of(stat.traceback[0].filename)
            by_module[name] = by_module.get(name, 0) + stat.size
        self.run.traced_mib = sum(by_module.values()) / 2**20
        self.run.traced = {k: v / 2**20 for k, v in by_module.items()}
        self.run.traced_rss_mib = memory_mib(self.operator.pid, "VmRSS")

    def profile_path(self) -> Path:
        path: Path = self.args.out / f"operator_scale_{self.args.count}.prof"
        return path

    def names(self) -> list[tuple[str, str]]:
        return [
            (self.namespaces[i % len(self.namespaces)], f"llm-{i:05d}")
            for i in range(self.args.count)
        ]

    def pool_of(self, index: int) -> tuple[str, str]:
        """--pools: the pool the index-th LLMEndpoint is placed on (namespace, name)."""
        pool = index % self.args.pools
        return self.namespaces[pool % len(self.namespaces)], f"pool-{pool:03d}"

    def changed(self) -> list[tuple[str, str]]:
        """The LLMEndpoints the change phases raise to 2 copies (the last one: busy)."""
        picks = self.names()[:: max(1, self.args.count // max(1, self.args.changes))]
        return [*picks[: self.args.changes], self.names()[-1]]

    def pools(self) -> list[dict[str, Any]]:
        """--pools: each pool sized for the LLMEndpoints placed on it, with room for
        the second copy of those the change phases change."""
        from llm_operator.api.models import LLMEndpointSpec
        from llm_operator.core import pools

        changed = set(self.changed())
        by_pool: dict[tuple[str, str], list[Any]] = {}
        for index, (ns, name) in enumerate(self.names()):
            obj = llm_endpoint(name, ns, self.args.autoscaling)
            demand = pools.demand_of(ns, name, LLMEndpointSpec.model_validate(obj["spec"]))
            if (ns, name) in changed:
                demand = dataclasses.replace(demand, copies=max(demand.copies, 2))
            by_pool.setdefault(self.pool_of(index), []).append(demand)
        return [
            bench_pool(name, ns, self.args.pool_instance_type, demands, self.namespaces)
            for (ns, name), demands in sorted(by_pool.items())
        ]

    def endpoint(self, index: int, ns: str, name: str) -> dict[str, Any]:
        obj = llm_endpoint(name, ns, self.args.autoscaling)
        if self.args.model_packages:
            group = package_group(index % self.args.model_packages)
            obj["spec"]["model"] = {"modelPackage": {"group": group}}
        if self.args.pools:
            pool_ns, pool = self.pool_of(index)
            obj = on_pool(obj, pool, pool_ns)
        return obj

    def create(self) -> None:
        before = self.calls()
        self.run.started = time.monotonic()
        with self.measured("create"):
            for pool in self.pools() if self.args.pools else []:
                self.custom.create_namespaced_custom_object(
                    GROUP, VERSION, pool["metadata"]["namespace"], POOL_PLURAL, pool
                )

            def submit(item: tuple[int, tuple[str, str]]) -> None:
                index, (ns, name) = item
                self.custom.create_namespaced_custom_object(
                    GROUP, VERSION, ns, PLURAL, self.endpoint(index, ns, name)
                )

            with ThreadPoolExecutor(max_workers=8) as pool:
                for _ in pool.map(submit, enumerate(self.names())):
                    self.left()
            self.run.submitted_s = self.since()
            count = self.args.count
            assert self.watch is not None
            watch = self.watch
            self.wait_for(f"{count} LLMEndpoints Ready", lambda: watch.ready() >= count, 0.5)
            self.run.all_ready_s = self.since()
            self.run.ready_times = sorted(
                at - self.run.started for at in watch.first_ready.values()
            )
            if self.args.policies:
                want = [f"bench-{i}" for i in range(self.args.policies)]
                records = [
                    ((watch.get(ns, name) or {}).get("status") or {}).get("policy") or {}
                    for ns, name in self.names()
                ]
                self.run.governed = sum(
                    1 for r in records if r.get("governedBy") == want and r.get("admitted")
                )
            if self.args.accounts:
                for ns, name in self.names():
                    account = account_of(self.namespaces.index(ns) % self.args.accounts)
                    at = watch.first_ready.get(f"{ns}/{name}")
                    if at is not None:
                        self.run.account_ready.setdefault(account, []).append(at - self.run.started)
                if self.throttle is not None:
                    self.run.account_calls = {
                        a: (self.throttle.calls[a], self.throttle.throttles[a])
                        for a in sorted(self.throttle.calls)
                    }
        self._created_from = before

    def steady(self) -> None:
        args = self.args
        with self.measured("settle"):
            # Ready comes first; what follows it (autoscaling's target and policies)
            # is creation too, not steady state: wait until nothing is left to do,
            # then let the last passes finish and the slow resync take over.
            assert self.watch is not None
            watch = self.watch
            self.wait_for(
                f"{args.count} LLMEndpoints settled", lambda: watch.settled() >= args.count, 0.5
            )
            self.run.all_settled_s = self.since()
            self.run.creation_calls = _diff(self.calls(), self._created_from)
            self._sleep(args.resync)
        before = self.calls()
        assert self.cluster is not None
        kube_before = apiserver_requests(self.cluster)
        began = time.monotonic()
        end = began + args.resync * args.steady_intervals
        with self.measured("steady"):
            while (now := time.monotonic()) < end:
                self._sleep(min(1.0, end - now))
                rate = self._recent_rate()
                saturated = rate >= 0.9 * args.calls_per_second
                if self.run.busy_change is None and saturated and self._saturated_before:
                    # Background refreshes have saturated the rate limit for two
                    # samples: how long does a person's change wait behind them?
                    ns, name = self.names()[-1]
                    reached, _ = self._one_change(ns, name, wait_ready=False)
                    self.run.busy_change = (rate, reached)
                self._saturated_before = saturated
        self.run.steady_seconds = time.monotonic() - began
        self.run.steady_calls = _diff(self.calls(), before)
        self.run.steady_kube = _diff(apiserver_requests(self.cluster), kube_before)
        if args.tracemalloc:
            self.memory_profile()
        self.run.cost_per_hour = self.cost_per_hour()
        assert self.watch is not None
        if self.watch.ready() < args.count:
            self.run.notes.append(
                f"only {self.watch.ready()} of {args.count} Ready at the end of the steady window"
            )

    def cost_per_hour(self) -> float:
        """On-demand USD per hour now: the pools' status.costPerHourUSD with --pools
        (their LLMEndpoints' shares add up to it), else each LLMEndpoint's estimate."""
        if self.args.pools:
            listed = self.custom.list_cluster_custom_object(GROUP, VERSION, POOL_PLURAL)
            key = "costPerHourUSD"
        else:
            listed = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
            key = "estimatedHourlyCostUSD"
        return sum(float((o.get("status") or {}).get(key) or 0) for o in listed["items"])

    def drift(self) -> None:
        """--drift N: changes by hand (copies, a component, model or endpoint config
        deleted) to N LLMEndpoints picked at random while steady; seconds until each is
        put back, which the next settled pass, one resync later, must do."""
        assert self.emulator is not None and self.watch is not None
        watch = self.watch
        sm = boto3.client(
            "sagemaker", endpoint_url=self.emulator.url, region_name="us-east-1", **BENCH_KEYS
        )
        spared = set(self.changed())
        picks = random.Random(7).sample(
            [n for n in self.names() if n not in spared], self.args.drift
        )

        def missing(call: Callable[..., Any], **name: str) -> bool:
            try:
                call(**name)
            except sm.exceptions.ClientError:
                return True
            return False

        def component_of(name: str) -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = sm.describe_inference_component(InferenceComponentName=name)
            except sm.exceptions.ClientError:
                return None
            return found

        def copies(name: str) -> int | None:
            found = component_of(name)
            return int(found["RuntimeConfig"]["DesiredCopyCount"]) if found else None

        def made_again(name: str, before: Any) -> bool:
            """Deleted (it lingers while Deleting) and created again."""
            found = component_of(name)
            return found is not None and found["CreationTime"] != before

        waiting: list[tuple[str, float, Callable[[], bool]]] = []
        with self.measured("drift"):
            for index, (ns, name) in enumerate(picks):
                status = (watch.get(ns, name) or {}).get("status") or {}
                component = str(status["inferenceComponents"][0]["name"])
                model, config = str(status["modelName"]), str(status["endpointConfigName"])
                kind = DRIFTS[index % len(DRIFTS)]
                began = time.monotonic()
                if kind == "copies set by hand":
                    sm.update_inference_component_runtime_config(
                        InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 2}
                    )
                    waiting.append((kind, began, lambda c=component: copies(c) == 1))
                elif kind == "component deleted":
                    created = (component_of(component) or {}).get("CreationTime")
                    sm.delete_inference_component(InferenceComponentName=component)
                    waiting.append((kind, began, lambda c=component, t=created: made_again(c, t)))
                elif kind == "model deleted":
                    sm.delete_model(ModelName=model)
                    waiting.append(
                        (kind, began, lambda m=model: not missing(sm.describe_model, ModelName=m))
                    )
                else:
                    sm.delete_endpoint_config(EndpointConfigName=config)
                    waiting.append(
                        (
                            kind,
                            began,
                            lambda c=config: (
                                not missing(sm.describe_endpoint_config, EndpointConfigName=c)
                            ),
                        )
                    )
            limit = time.monotonic() + 6 * self.args.resync
            while waiting and time.monotonic() < limit:
                self.left()
                for item in list(waiting):
                    kind, began, repaired = item
                    if repaired():
                        self.run.drift.append((kind, time.monotonic() - began))
                        waiting.remove(item)
                time.sleep(0.2)
            self.run.drift += [(kind, None) for kind, _, _ in waiting]
            self.wait_for(
                f"{self.args.count} LLMEndpoints settled again",
                lambda: watch.settled() >= self.args.count,
                0.5,
            )

    def change(self) -> None:
        """copies 1 -> 2 on a few endpoints, one at a time, all others present."""
        with self.measured("change"):
            for ns, name in self.changed()[: self.args.changes]:
                self.run.changes.append(self._one_change(ns, name))

    def restart(self) -> None:
        """kill -9 of the operator once steady, then a new process: how long and how many
        calls until every LLMEndpoint has been passed over again, and how long a spec
        change made meanwhile waits for it."""
        args = self.args
        assert self.operator is not None and self.admin is not None and self.watch is not None
        watch, admin = self.watch, self.admin
        self.wait_for(
            f"{args.count} LLMEndpoints settled", lambda: watch.settled() >= args.count, 0.5
        )
        self._sleep(args.resync)  # the last passes done: steady
        changed = set(self.changed())
        picks = [n for n in self.names()[1::7] if n not in changed][: args.changes]
        op = "UpdateInferenceComponentRuntimeConfig"
        with self.measured("restart"):
            before = self.calls()
            processes.kill(self.operator)
            began = time.monotonic()
            self.start_operator()
            self.run.restart_startup_s = time.monotonic() - began
            # copies 1 -> 2 on a few, as soon as the new process answers /healthz
            updates = self.calls().get(op, 0)
            patched = time.monotonic()
            change = (
                {"autoscaling": {"minReplicas": 2}}
                if args.autoscaling
                else {"resources": {"copies": 2}}
            )
            for ns, name in picks:
                self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, ns, PLURAL, name, {"spec": change}
                )
            arrived: list[float] = []
            settled_at: float | None = None
            while settled_at is None or len(arrived) < len(picks):
                self.left()
                if self.operator.poll() is not None:
                    raise RuntimeError(f"the operator exited ({self.operator.returncode})")
                now = time.monotonic()
                reached = admin.calls().get(op, 0) - updates
                arrived += [now - patched] * max(0, min(reached, len(picks)) - len(arrived))
                if settled_at is None:
                    # Every LLMEndpoint passed over by the new process, all InService
                    # but those changed meanwhile.
                    phases = operator_phases(args.metrics_port)
                    if sum(phases.values()) >= args.count and phases.get(
                        "InService", 0
                    ) >= args.count - len(picks):
                        settled_at = now
                time.sleep(0.05)
            self.run.restart_s = settled_at - began
            self.run.restart_calls = _diff(self.calls(), before)
            self.run.restart_changes = [*arrived, *[None] * (len(picks) - len(arrived))]

    def upgrade(self) -> None:
        """The operator restarted over resources made before the cluster-id tag."""
        assert self.operator is not None and self.emulator is not None and self.watch is not None
        processes.stop(self.operator, timeout=30)
        sm = boto3.client(
            "sagemaker", endpoint_url=self.emulator.url, region_name="us-east-1", **BENCH_KEYS
        )
        arns: list[str] = []
        for operation, key, member in LISTS:
            for page in sm.get_paginator(operation).paginate():
                arns += [str(item[member]) for item in page[key]]

        def untag(arn: str) -> None:
            sm.delete_tags(ResourceArn=arn, TagKeys=[CLUSTER_ID_TAG])

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(untag, arns))
        self.run.upgrade_untagged = len(arns)
        assert self.admin is not None
        admin, watch = self.admin, self.watch
        before = self.calls()
        tagged_before = admin.calls().get("AddTags", 0)
        began = time.monotonic()
        with self.measured("upgrade"):
            self.start_operator()
            fewest = self.args.count

            def done() -> bool:
                nonlocal fewest
                fewest = min(fewest, watch.ready())
                return admin.calls().get("AddTags", 0) - tagged_before >= len(arns)

            self.wait_for("every resource tagged with the cluster id", done, 0.5)
            self.run.upgrade_s = time.monotonic() - began
            self.run.upgrade_calls = _diff(self.calls(), before)
            self.run.upgrade_min_ready = fewest
        missing = [a for a in arns if CLUSTER_ID_TAG not in _tags(sm, a)]
        if missing:
            self.run.notes.append(f"{len(missing)} resources still without the cluster id")

    def _recent_rate(self) -> float:
        """SageMaker calls per second between the last two samples."""
        samples = self.run.samples[-2:]
        if len(samples) < 2 or samples[1].at <= samples[0].at or samples[0].calls < 0:
            return 0.0
        return (samples[1].calls - samples[0].calls) / (samples[1].at - samples[0].at)

    def _one_change(
        self, ns: str, name: str, *, wait_ready: bool = True
    ) -> tuple[float, float | None]:
        assert self.watch is not None and self.admin is not None
        watch, admin = self.watch, self.admin
        op = "UpdateInferenceComponentRuntimeConfig"
        before = self.calls().get(op, 0)
        began = time.monotonic()
        # With autoscaling the copies are the autoscaler's: raising the floor clamps them.
        change = (
            {"autoscaling": {"minReplicas": 2}}
            if self.args.autoscaling
            else {"resources": {"copies": 2}}
        )
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, name, {"spec": change}
        )
        self.wait_for(f"{op} for {ns}/{name}", lambda: admin.calls().get(op, 0) > before, 0.05)
        reached = time.monotonic() - began
        if not wait_ready:
            return reached, None

        def ready_again() -> bool:
            obj = watch.get(ns, name) or {}
            copies = (obj.get("status") or {}).get("copies") or {}
            return is_ready(obj) and copies.get("current") == 2

        try:
            self.wait_for(f"{ns}/{name} Ready with 2 copies", ready_again, 0.1)
        except BenchTimeout:
            return reached, None
        return reached, time.monotonic() - began

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (now := time.monotonic()) < end:
            self.left()
            if self.operator is not None and self.operator.poll() is not None:
                raise RuntimeError(f"the operator exited ({self.operator.returncode})")
            time.sleep(min(1.0, end - now))

    def close(self) -> None:
        self._sampling.set()
        if self.watch is not None:
            self.watch.stop()
        if self.operator is not None:
            self.run.final_rss_mib = memory_mib(self.operator.pid, "VmRSS")
            self.run.peak_rss_mib = max(
                self.run.peak_rss_mib, memory_mib(self.operator.pid, "VmHWM")
            )
            processes.stop(self.operator, timeout=30)
        if self.throttle is not None:
            self.throttle.stop()
        if self.emulator is not None:
            self.emulator.stop()
        if self.cluster is not None:
            self.cluster.stop()


# What --drift does by hand, in turn.
DRIFTS = ("copies set by hand", "component deleted", "model deleted", "endpoint config deleted")
CLUSTER_ID_TAG = "llmoperator.io/cluster-id"
BENCH_KEYS = {"aws_access_key_id": "AKIABENCH", "aws_secret_access_key": "bench"}
LISTS = (
    ("list_models", "Models", "ModelArn"),
    ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn"),
    ("list_endpoints", "Endpoints", "EndpointArn"),
    ("list_inference_components", "InferenceComponents", "InferenceComponentArn"),
)


def _tags(sm: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def _module_of(filename: str) -> str:
    """A source file as the package it belongs to, two levels deep, three for ours
    (".../site-packages/kubernetes/client/models/v1_pod.py" -> "kubernetes.client")."""
    path = Path(filename)
    folders = path.parent.parts
    for anchor, prefix in (("site-packages", ""), (REPO.name, ""), ("lib", "stdlib.")):
        if anchor in folders:
            inside = (*folders[len(folders) - folders[::-1].index(anchor) :], path.stem)
            if prefix or inside[0] == "operator":  # lib/python3.X/..., operator/<package>
                inside = inside[1:]
            depth = 3 if inside[0] == "llm_operator" else 2  # ours: shell.observe, ...
            return prefix + ".".join(inside[:depth])
    return filename


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in sorted(after.items()) if v - before.get(k, 0)}


# -- report ----------------------------------------------------------------------------


def report(args: argparse.Namespace, run: Run) -> None:
    n = run.count
    print()
    print(f"operator scale benchmark: {n} LLMEndpoints in {args.namespaces} namespaces")
    if args.accounts:
        print(
            f"accounts: {args.accounts} (namespaces mapped to roles, moto's STS); "
            f"{args.throttle_rate:.0%} of account {account_of(0)}'s calls throttled"
        )
    print(
        f"settings: resync {args.resync:g}s, transition poll {args.poll:g}s, emulator delay "
        f"{args.delay:g}s, AWS rate limit {args.calls_per_second:g}/s burst {args.burst}, "
        f"workers {args.workers}; {os.cpu_count()} CPUs"
    )
    if args.policies:
        print(
            f"policies: {args.policies} LLMEndpointPolicies govern every namespace; "
            f"{run.governed} of {n} LLMEndpoints Ready governed by all and admitted"
        )
    if args.model_packages:
        print(
            f"model packages: the LLMEndpoints serve {args.model_packages} model registry "
            "groups' latest approved versions"
        )
    if args.pools:
        print(
            f"pools: {args.pools} LLMEndpointPools of {args.pool_instance_type}, "
            f"{n // args.pools} or so LLMEndpoints placed on each"
        )
    for phase, load in run.load:
        print(f"load average at {phase:>7}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print()
    rows: list[tuple[str, str]] = []
    if run.submitted_s is not None:
        rows.append(("all LLMEndpoints submitted", f"{run.submitted_s:.1f} s"))
    if run.all_ready_s is not None:
        rows.append(("all Ready", f"{run.all_ready_s:.1f} s after the first create"))
        rows.append(("throughput", f"{n / run.all_ready_s:.1f} endpoints Ready per second"))
        for fraction in (0.5, 0.9):
            hit = next((s.at for s in run.samples if s.ready >= fraction * n), None)
            if hit is not None:
                rows.append((f"{fraction:.0%} Ready", f"{hit:.1f} s"))
    if run.all_settled_s is not None:
        rows.append(("all settled", f"{run.all_settled_s:.1f} s (Ready, Progressing=False)"))
    if run.cost_per_hour is not None:
        whose = "the pools'" if args.pools else "the LLMEndpoints'"
        rows.append(("cost once steady", f"{run.cost_per_hour:.2f} USD/h ({whose} sum)"))
    rows.append(("operator peak RSS (VmHWM)", f"{run.peak_rss_mib:.0f} MiB"))
    if run.final_rss_mib:
        rows.append(("operator RSS at the end", f"{run.final_rss_mib:.0f} MiB"))
    for phase, cpu in run.cpu.items():
        others = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if k != "operator")
        rows.append((f"CPU s during {phase}", f"operator {cpu.get('operator', 0):.1f} ({others})"))
    for phase in ("create", "steady", "change"):
        took = sorted(s for p, _, s in run.healthz if p == phase)
        if took:
            p50 = statistics.median(took)
            rows.append(
                (
                    f"/healthz latency during {phase}",
                    f"median {p50 * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms "
                    f"({len(took)} probes)",
                )
            )
    for index, (reached, ready) in enumerate(run.changes):
        ready_text = f"{ready:.2f} s" if ready is not None else "not reached"
        rows.append(
            (
                f"spec change {index + 1} (copies 1->2)",
                f"in SageMaker after {reached:.2f} s, Ready with 2 copies after {ready_text}",
            )
        )
    if run.busy_change is not None:
        rate, reached = run.busy_change
        rows.append(
            (
                "spec change while steady and busy",
                f"made at {rate:.0f} SageMaker calls/s (background refresh); "
                f"in SageMaker after {reached:.2f} s",
            )
        )
    elif run.steady_seconds:
        rows.append(("spec change while steady and busy", "no busy second seen"))
    if run.upgrade_s is not None:
        spent = ", ".join(f"{op} {c}" for op, c in run.upgrade_calls.items())
        rows.append(
            (
                "restart over untagged resources",
                f"{run.upgrade_untagged} tagged with the cluster id in {run.upgrade_s:.1f} s "
                f"(from the restart); fewest Ready meanwhile {run.upgrade_min_ready} of {n}; "
                f"calls: {spent}",
            )
        )
    for kind, took in run.drift:
        text = f"put back after {took:.1f} s" if took is not None else "NOT put back"
        rows.append((f"drift: {kind}", f"{text} (resync {args.resync:g} s)"))
    if run.restart_s is not None:
        rows.append(
            (
                "restart (kill -9 once steady)",
                f"every LLMEndpoint passed over again {run.restart_s:.1f} s after the kill "
                f"(the new process answered /healthz after {run.restart_startup_s or 0:.1f} s)",
            )
        )
        for index, reached in enumerate(run.restart_changes):
            text = f"{reached:.2f} s" if reached is not None else "not reached"
            rows.append(
                (f"spec change {index + 1} during the restart", f"in SageMaker after {text}")
            )
    for account, seconds in sorted(run.account_ready.items()):
        calls, throttles = run.account_calls.get(account, (0, 0))
        label = f"account {account}" + (" (throttled)" if account == account_of(0) else "")
        if not args.throttle_rate:
            label = f"account {account}"
        rows.append(
            (
                label,
                f"{len(seconds)} Ready: median {statistics.median(seconds):.1f} s, max "
                f"{max(seconds):.1f} s; {calls} SageMaker calls, {throttles} throttled",
            )
        )
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")

    if run.creation_calls:
        print()
        print(f"SageMaker calls creating {n} endpoints until all settled (emulator counters)")
        _calls_table(run.creation_calls, n, None)
    if run.steady_calls or run.steady_seconds:
        intervals = run.steady_seconds / args.resync
        print()
        print(
            f"SageMaker calls once steady: {run.steady_seconds:.0f} s = {intervals:.1f} resync "
            f"intervals of {args.resync:g}s"
        )
        _calls_table(run.steady_calls, n, intervals)
        describes = sum(v for k, v in run.steady_calls.items() if k.startswith("Describe"))
        per = describes / n / intervals if intervals else 0.0
        verdict = "OK: well below" if per < 0.5 else "DEFECT: close to or above"
        print(
            f"Describe* per endpoint per resync interval: {per:.3f} "
            f"({verdict} one per endpoint per interval)"
        )
        print()
        print(
            "Kubernetes API requests once steady (kube-apiserver's apiserver_request_total; "
            "the bench's own watch of LLMEndpoints included)"
        )
        _calls_table(run.steady_kube, n, intervals, "request")
    if run.restart_s is not None:
        print()
        print("SageMaker calls from the kill -9 until every LLMEndpoint was passed over again")
        _calls_table(run.restart_calls, n, None)
    if run.traced_mib is not None:
        print()
        print(
            f"Python memory at the end of the steady window (tracemalloc, by module): "
            f"{run.traced_mib:.1f} MiB traced, RSS {run.traced_rss_mib or 0:.0f} MiB"
        )
        width = max(map(len, run.traced))
        for name, mib in sorted(run.traced.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {name:<{width}}  {mib:7.1f} MiB  {mib / run.traced_mib:5.1%}")
    figures(args, run)
    for note in run.notes:
        print(f"note: {note}")


def figures(args: argparse.Namespace, run: Run) -> None:
    """The fleet's figures in one table: what the performance targets are stated in."""
    n = run.count
    intervals = run.steady_seconds / args.resync if run.steady_seconds else 0.0
    rows: list[tuple[str, str]] = []
    if intervals:
        try:
            from llm_operator.shell.reconciler import SWEEP_INTERVALS
        except ImportError:  # an operator from before the sweep (a baseline run)
            SWEEP_INTERVALS = 10

        total = sum(run.steady_calls.values()) / n / intervals
        describes = sum(v for k, v in run.steady_calls.items() if k.startswith("Describe"))
        # The safety sweep describes each endpoint and component once per
        # SWEEP_INTERVALS, at ticks a shorter window may miss: added as an upper bound.
        swept = 2 / SWEEP_INTERVALS
        rows.append(
            (
                "steady SageMaker calls per endpoint per resync interval",
                f"{total:.3f} (Describe {describes / n / intervals:.3f}); at most "
                f"{total + swept:.3f} in the long run, with the safety sweep's "
                f"{swept:.3f} Describes",
            )
        )
    if run.creation_calls:
        rows.append(
            (
                "calls per endpoint until all settled",
                f"{sum(run.creation_calls.values()) / n:.2f}",
            )
        )
    rows.append(("peak RSS", f"{run.peak_rss_mib:.0f} MiB"))
    if run.ready_times and run.all_ready_s:
        median = statistics.median(run.ready_times)
        rows.append(
            (
                "median time to Ready (of all-Ready)",
                f"{median:.1f} s of {run.all_ready_s:.1f} s ({median / run.all_ready_s:.2f}); "
                f"first Ready after {run.ready_times[0]:.1f} s",
            )
        )
    steady_cpu = run.cpu.get("steady", {}).get("operator")
    if intervals and steady_cpu is not None:
        rows.append(
            (
                "operator CPU per endpoint per resync interval at steady",
                f"{steady_cpu / n / intervals * 1000:.2f} ms ({steady_cpu:.1f} s over "
                f"{intervals:.1f} intervals)",
            )
        )
    if intervals:
        kube = sum(run.steady_kube.values()) / n / intervals
        gets = sum(v for k, v in run.steady_kube.items() if k == "GET namespaces")
        rows.append(
            (
                "Kubernetes API requests per endpoint per resync interval at steady",
                f"{kube:.3f} (GET namespaces {gets / n / intervals:.3f})",
            )
        )
    if run.drift:
        took = [t for _, t in run.drift if t is not None]
        rows.append(
            (
                "drift by hand, put back",
                f"{len(took)} of {len(run.drift)}, after max {max(took, default=0):.1f} s "
                f"(resync {args.resync:g} s)",
            )
        )
    if run.restart_s is not None:
        calls = sum(run.restart_calls.values()) / n
        reached = [r for r in run.restart_changes if r is not None]
        latency = f"max {max(reached):.2f} s" if reached else "none reached"
        rows.append(
            (
                "after a restart (kill -9 at steady)",
                f"settled in {run.restart_s:.1f} s, {calls:.2f} calls per endpoint, "
                f"spec changes in SageMaker after {latency}",
            )
        )
    print()
    print("fleet figures")
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def _calls_table(
    calls: dict[str, int], n: int, intervals: float | None, what: str = "operation"
) -> None:
    if not calls:
        print(f"  (no {what}s)")
        return
    unit = "per endpoint per interval" if intervals else "per endpoint"
    width = max(len(what), *map(len, calls))
    print(f"  {what:<{width}}  {'count':>7}  {unit}")
    for operation, value in sorted(calls.items(), key=lambda kv: -kv[1]):
        per = value / n / (intervals or 1.0)
        print(f"  {operation:<{width}}  {value:>7}  {per:.3f}")
    total = sum(calls.values())
    print(f"  {'total':<{width}}  {total:>7}  {total / n / (intervals or 1.0):.3f}")


def plot(args: argparse.Namespace, run: Run) -> Path | None:
    if not run.samples:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [s.at for s in run.samples]
    fig, (ax_ready, ax_calls, ax_rss, ax_loop) = plt.subplots(4, 1, figsize=(9, 11), sharex=True)
    ax_ready.plot(times, [s.ready for s in run.samples], color="tab:green")
    ax_ready.axhline(run.count, color="grey", linestyle=":", linewidth=1)
    ax_ready.set_ylabel("LLMEndpoints Ready")
    ax_ready.set_title(
        f"llm-operator with {run.count} LLMEndpoints (resync {args.resync:g}s, "
        f"AWS limit {args.calls_per_second:g}/s)"
    )
    rates = [
        (b.at, (b.calls - a.calls) / (b.at - a.at))
        for a, b in zip(run.samples, run.samples[1:], strict=False)
        if b.at > a.at and a.calls >= 0 and b.calls >= 0
    ]
    ax_calls.plot([r[0] for r in rates], [r[1] for r in rates], color="tab:blue")
    ax_calls.axhline(args.calls_per_second, color="grey", linestyle=":", linewidth=1)
    ax_calls.set_ylabel("SageMaker calls/s")
    ax_rss.plot(times, [s.rss_mib for s in run.samples], color="tab:red")
    ax_rss.set_ylabel("operator RSS (MiB)")
    ax_loop.plot(
        [h[1] for h in run.healthz], [h[2] * 1000 for h in run.healthz], color="tab:purple"
    )
    ax_loop.set_ylabel("/healthz latency (ms)")
    ax_loop.set_xlabel("seconds since the first LLMEndpoint was created")
    for ax in (ax_ready, ax_calls, ax_rss, ax_loop):
        for index, (name, at) in enumerate(run.phases):
            ax.axvline(at, color="black", alpha=0.25, linewidth=1)
            if ax is ax_ready:  # alternate heights: short phases sit close together
                height = run.count * (0.02 + 0.08 * (index % 2))
                ax.text(at, height, f" {name}", fontsize=8, alpha=0.7)
    fig.tight_layout()
    path: Path = args.out / f"operator_scale_{run.count}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_profile(path: Path, top: int = 25) -> None:
    """The event loop's most expensive functions by own time; the operator's by total."""
    import pstats

    print(f"\nprofile of the operator's event-loop thread: {path}")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats("llm_operator", top)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200, help="LLMEndpoints (default 200)")
    parser.add_argument(
        "--autoscaling",
        action="store_true",
        help="give every LLMEndpoint spec.autoscaling (emulator with moto)",
    )
    parser.add_argument("--namespaces", type=int, default=4, help="spread over (default 4)")
    parser.add_argument("--resync", type=float, default=10.0, help="LLMOP_RESYNC_SECONDS")
    parser.add_argument(
        "--poll", type=float, default=2.0, help="LLMOP_TRANSITION_POLL_SECONDS (default 2)"
    )
    parser.add_argument(
        "--steady-intervals",
        type=int,
        default=12,
        help="resync intervals measured once steady (default 12: longer than the Describe cache)",
    )
    parser.add_argument("--delay", type=float, default=1.0, help="emulator transition seconds")
    parser.add_argument(
        "--calls-per-second", type=float, default=50.0, help="LLMOP_AWS_CALLS_PER_SECOND"
    )
    parser.add_argument("--burst", type=int, default=50, help="LLMOP_AWS_BURST")
    parser.add_argument("--workers", type=int, default=16, help="LLMOP_WORKERS")
    parser.add_argument("--changes", type=int, default=3, help="spec changes timed")
    parser.add_argument(
        "--accounts",
        type=int,
        default=0,
        help="spread the namespaces over this many AWS accounts (roles assumed through "
        "moto's STS); 0 (default): the operator's own identity",
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        help="with --accounts: fraction of the first account's SageMaker calls answered "
        "ThrottlingException (default 0)",
    )
    parser.add_argument(
        "--drift",
        type=int,
        default=0,
        help="once steady, change this many LLMEndpoints' resources by hand (copies, a "
        "component, model or endpoint config deleted) and time until each is put back",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="run the operator under tracemalloc (bench/traced_operator.py) and print what "
        "Python holds by module at the end of the steady window; slows the operator",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="finally: kill -9 the operator once steady and start it again; time and calls "
        "until every LLMEndpoint is passed over again, and spec changes made meanwhile",
    )
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="finally: restart the operator over resources without the cluster-id tag",
    )
    parser.add_argument(
        "--policies",
        type=int,
        default=0,
        help="LLMEndpointPolicies governing every namespace (defaults, enforced tags, "
        "limits and a budget admitting everything); 0 (default): none",
    )
    parser.add_argument(
        "--model-packages",
        type=int,
        default=0,
        help="serve the latest approved version of this many model registry groups "
        "(spec.model.modelPackage); 0 (default): Hugging Face models",
    )
    parser.add_argument(
        "--pools",
        type=int,
        default=0,
        help="place the LLMEndpoints on this many LLMEndpointPools, each sized so its "
        "share fits; 0 (default): each LLMEndpoint has its own endpoint",
    )
    parser.add_argument(
        "--pool-instance-type",
        default="ml.g5.xlarge",
        help="with --pools: the pools' instance type (default ml.g5.xlarge, the "
        "standalone LLMEndpoints' own)",
    )
    parser.add_argument("--sample-seconds", type=float, default=1.0, help="sampling period")
    parser.add_argument("--timeout", type=float, default=900.0, help="whole run, seconds")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the operator under cProfile (its event-loop thread) and print the top "
        "functions; slows the operator, so its timings are not comparable",
    )
    args = parser.parse_args()
    args.health_port = free_port()
    args.metrics_port = free_port()

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored
    run = Run(count=args.count)
    bench = Bench(args, run)
    failure: str | None = None
    try:
        bench.setup()
        bench.create()
        bench.steady()
        if args.drift:
            bench.drift()
        bench.change()
        if args.restart:
            bench.restart()
        if args.upgrade:
            bench.upgrade()
    except (BenchTimeout, KeyboardInterrupt, RuntimeError, ApiException) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        bench.close()
    report(args, run)
    path = plot(args, run)
    if path is not None:
        print(f"plot: {path}")
    print(f"operator log: {args.out / 'operator.log'}")
    if args.profile and bench.profile_path().exists():
        print_profile(bench.profile_path())
    suffix = f"_policies{args.policies}" if args.policies else ""
    suffix += f"_pools{args.pools}" if args.pools else ""
    suffix += f"_packages{args.model_packages}" if args.model_packages else ""
    (args.out / f"operator_scale_{run.count}{suffix}.json").write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "submitted_s": run.submitted_s,
                "all_ready_s": run.all_ready_s,
                "all_settled_s": run.all_settled_s,
                "creation_calls": run.creation_calls,
                "steady_calls": run.steady_calls,
                "steady_seconds": run.steady_seconds,
                "steady_kube": run.steady_kube,
                "cpu": run.cpu,
                "changes": run.changes,
                "busy_change": run.busy_change,
                "peak_rss_mib": run.peak_rss_mib,
                "ready_curve": [(s.at, s.ready) for s in run.samples],
                "account_ready": run.account_ready,
                "account_calls": run.account_calls,
                "drift": run.drift,
                "traced_mib": run.traced_mib,
                "traced": run.traced,
                "restart_s": run.restart_s,
                "restart_calls": run.restart_calls,
                "restart_changes": run.restart_changes,
                "restart_startup_s": run.restart_startup_s,
                "upgrade_untagged": run.upgrade_untagged,
                "upgrade_s": run.upgrade_s,
                "upgrade_calls": run.upgrade_calls,
                "upgrade_min_ready": run.upgrade_min_ready,
                "policies": args.policies,
                "governed": run.governed,
                "pools": args.pools,
                "model_packages": args.model_packages,
                "cost_per_hour": run.cost_per_hour,
            },
            indent=1,
        )
    )
    if failure is not None:
        print(f"INCOMPLETE: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
