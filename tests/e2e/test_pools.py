"""LLMEndpointPools end to end, from examples/pools/shared-g5.yaml: the real API server,
the operator under the chart's RBAC, the emulator (with moto for autoscaling).

One operator and one emulator for the module, in four namespaces: the pool's, two
teams' and one the pool does not allow. The scenario runs in order:
- the pool and two models from two namespaces: each answers `llm-operator invoke`;
- a third that does not fit is PoolFull and nothing is sent for it; it is placed once
  another model's ceiling is lowered;
- a namespace the pool does not allow is refused;
- scaling one model's copies moves the pool's instances and never touches the other;
- deleting a model leaves the pool and the other model serving;
- deleting the pool while it hosts models is held with a status naming them, and it
  goes once they are gone.
Then, on a pool of its own: a standalone LLMEndpoint with a LoRA adapter and autoscaling
moved onto it by its spec (instance replaced by pool) answers throughout, base and
adapter, its autoscaling moves to the pool's component, and nothing of the former is
left in SageMaker, Application Auto Scaling or CloudWatch.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_operator.core.identity import ROLE_ANNOTATION
from local_cluster.cluster import LocalCluster
from local_cluster.llmendpoints import condition
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import to_yaml
from tests.plugins.llmendpoints import get_llme, patch_spec, wait_gone, wait_ready
from tests.plugins.operator_fixtures import (
    EmulatorProcesses,
    OperatorIdentity,
    started_operator,
)
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pools" / "shared-g5.yaml"
POOLS = "/apis/llmoperator.io/v1alpha1"


@dataclass
class Setup:
    cluster: LocalCluster
    ns: dict[str, str]  # platform, search, support, other -> namespace
    emulator: Emulator
    operator: Operator

    def kubectl(self, key: str) -> Kubectl:
        return Kubectl(self.cluster, self.ns[key])

    def pool(self) -> dict[str, Any] | None:
        return self.pool_named("shared-g5")

    def pool_named(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.kubectl("platform").api_get(
            f"{POOLS}/namespaces/{self.ns['platform']}/llmendpointpools/{name}"
        )
        return found


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster,
    operator_identity: OperatorIdentity,
    emulators: EmulatorProcesses,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    suffix = uuid.uuid4().hex[:6]
    ns = {k: f"pool-{k}-{suffix}" for k in ("platform", "search", "support", "other")}
    for name in ns.values():
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        status, text = cluster.request("POST", "/api/v1/namespaces", body, timeout=60)
        assert status == 201, text
    emulator = emulators.fresh(delay=0.05, args=["--with-moto"])
    log = tmp_path_factory.mktemp("pools") / "operator.log"
    op = started_operator(operator_identity.kubeconfig, emulator, list(ns.values()), log)
    yield Setup(cluster, ns, emulator, op)
    op.stop()
    print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")
    assert "Traceback" not in op.logs()


def example(s: Setup) -> list[dict[str, Any]]:
    """The example with its namespaces renamed to this module's."""
    docs = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    rename = {"ml-platform": s.ns["platform"], "search": s.ns["search"], "support": s.ns["support"]}
    text = yaml.safe_dump_all(docs)
    for old, new in rename.items():
        text = text.replace(f"namespace: {old}\n", f"namespace: {new}\n")
        text = text.replace(f"- {old}\n", f"- {new}\n")
    return [d for d in yaml.safe_load_all(text) if d]


def guest(s: Setup, key: str, name: str, copies: int) -> dict[str, Any]:
    docs = example(s)
    doc = copy.deepcopy(next(d for d in docs if d["metadata"]["name"] == "mistral"))
    doc["metadata"] = {"name": name, "namespace": s.ns[key]}
    doc["spec"]["resources"]["copies"] = copies
    return doc


def invoke(s: Setup, key: str, name: str) -> None:
    answer = cli(
        "invoke",
        name,
        "-n",
        s.ns[key],
        "--prompt",
        "hi",
        "--max-tokens",
        "4",
        emulator=s.emulator,
        kubeconfig=s.cluster.kubeconfig,
    )
    assert answer.returncode == 0, answer.stderr


CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def degraded_reason(obj: dict[str, Any] | None) -> str | None:
    found = condition(obj or {}, "Degraded")
    return found.get("reason") if found.get("status") == "True" else None


def test_models_of_two_namespaces_share_a_pool_from_placement_to_deletion(setup: Setup) -> None:
    s = setup
    api = SageMaker(s.emulator)
    log = s.operator.log_tail
    docs = example(s)
    s.cluster.kubectl("apply", "-f", "-", input=to_yaml(*docs))
    search, support = s.kubectl("search"), s.kubectl("support")
    mistral = wait_ready(search, "mistral", log=log, timeout=180)["status"]
    wait_ready(support, "qwen", log=log, timeout=180)
    endpoint = mistral["endpointName"]
    assert api.inventory().endpoints == [endpoint]  # the pool's alone
    assert get_llme(support, "qwen")["status"]["endpointName"] == endpoint  # type: ignore[index]
    invoke(s, "search", "mistral")
    invoke(s, "support", "qwen")
    wait_for(
        lambda: ((s.pool() or {}).get("status") or {}).get("modelsCount") == 2,
        timeout=60,
        what="the pool's status to list both models",
    )
    # Cost: the pool's total, and each model's share by the accelerators it holds.
    total = float((s.pool() or {})["status"]["costPerHourUSD"])
    share = float(get_llme(search, "mistral")["status"]["estimatedHourlyCostUSD"])  # type: ignore[index]
    assert 0 < share < total

    # audit: the pool's endpoint and config are in use (the pool exists), nothing orphaned.
    listed = cli("audit", "-o", "json", emulator=s.emulator, kubeconfig=s.cluster.kubeconfig)
    assert listed.returncode == 0, listed.stderr
    audited = json.loads(listed.stdout)
    assert not [r for r in audited["resources"] if r["state"] == "orphaned"]
    # ... and lists the pool with the models on it, their copies and shares.
    (pool,) = [p for p in audited["pools"] if p["namespace"] == s.ns["platform"]]
    assert (pool["name"], pool["endpointName"]) == ("shared-g5", endpoint)
    hosted = {f"{m['namespace']}/{m['name']}": m for m in pool["models"]}
    assert sorted(hosted) == sorted([f"{s.ns['search']}/mistral", f"{s.ns['support']}/qwen"])
    assert hosted[f"{s.ns['search']}/mistral"]["copies"] == 2
    assert float(hosted[f"{s.ns['search']}/mistral"]["costPerHourUSD"]) == share

    # 8 GPUs at maxCount; mistral 2 + qwen's ceiling 4: a third asking for 3 is PoolFull.
    components = set(api.inventory().inference_components)
    big = guest(s, "search", "big", 3)
    search.apply(to_yaml(big))
    wait_for(
        lambda: degraded_reason(get_llme(search, "big")) == "PoolFull",
        timeout=60,
        what="big PoolFull",
    )
    message = condition(get_llme(search, "big") or {}, "Degraded")["message"]
    assert "2 of 8 accelerators" in message and "qwen" in message, message
    assert set(api.inventory().inference_components) == components  # nothing sent for it
    # qwen's ceiling lowered to 1: room for big.
    patch_spec(support, "qwen", {"autoscaling": {"maxReplicas": 1}})
    wait_for(
        lambda: degraded_reason(get_llme(search, "big")) != "PoolFull",
        timeout=90,
        what="big placed",
    )
    wait_ready(search, "big", log=log, timeout=180)

    # A namespace the pool does not allow.
    other = s.kubectl("other")
    other.apply(to_yaml(guest(s, "other", "stranger", 1)))
    wait_for(
        lambda: degraded_reason(get_llme(other, "stranger")) == "PoolNotAllowed",
        timeout=60,
        what="stranger PoolNotAllowed",
    )

    # Scaling mistral's copies moves the pool's instances; qwen's component is untouched.
    qwen_component = get_llme(support, "qwen")["status"]["inferenceComponents"][0]["name"]  # type: ignore[index]
    before = api.inference_component(qwen_component)
    patch_spec(search, "mistral", {"resources": {"copies": 4}})
    wait_for(
        lambda: api.endpoint(endpoint)["ProductionVariants"][0]["CurrentInstanceCount"] == 2,
        timeout=120,
        what="the pool's endpoint to run 2 instances",
    )
    wait_ready(search, "mistral", log=log, timeout=180)
    after = api.inference_component(qwen_component)
    assert after["LastModifiedTime"] == before["LastModifiedTime"]
    assert after["RuntimeConfig"] == before["RuntimeConfig"]

    # Deleting a model leaves the pool and the other model serving.
    search("delete", "llme", "mistral", "--wait=false")
    wait_gone(search, "mistral", log=log, timeout=180)
    assert api.endpoint(endpoint)["EndpointStatus"] == "InService"
    invoke(s, "support", "qwen")

    # Deleting the pool while it hosts models is held, naming them.
    s.kubectl("platform")("delete", "llmpool", "shared-g5", "--wait=false")

    def held() -> bool:
        reason = degraded_reason(s.pool())
        return reason == "PoolInUse"

    wait_for(held, timeout=60, what="the pool's deletion held")
    text = condition(s.pool() or {}, "Degraded")["message"]
    assert f"{s.ns['support']}/qwen" in text and f"{s.ns['search']}/big" in text, text
    assert api.endpoint(endpoint)["EndpointStatus"] == "InService"
    invoke(s, "support", "qwen")
    # Once they are gone, the pool and its endpoint go.
    support("delete", "llme", "qwen", "--wait=false")
    search("delete", "llme", "big", "--wait=false")
    other("delete", "llme", "stranger", "--wait=false")
    wait_for(lambda: s.pool() is None, timeout=180, what="the pool gone")
    wait_for(lambda: api.inventory().empty, timeout=120, what="nothing left in SageMaker")


def test_a_standalone_model_moves_onto_a_pool_without_a_failed_invocation(
    setup: Setup, tmp_path: Path
) -> None:
    s = setup
    api = SageMaker(s.emulator)
    log = s.operator.log_tail
    docs = example(s)
    pool = copy.deepcopy(docs[0])
    pool["metadata"]["name"] = "moves"
    qwen = next(d for d in docs if d["metadata"]["name"] == "qwen")
    qwen["spec"]["pool"]["name"] = "moves"
    mover = guest(s, "search", "mover", 1)
    pool_ref = mover["spec"].pop("pool")
    pool_ref["name"] = "moves"
    mover["spec"]["instance"] = {"type": "ml.g5.12xlarge", "count": 1}
    mover["spec"]["adapters"] = [{"name": "poet", "artifactUri": "s3://bucket/poet.tar.gz"}]
    mover["spec"]["autoscaling"] = {"minReplicas": 1, "maxReplicas": 2, "target": 4}
    s.cluster.kubectl("apply", "-f", "-", input=to_yaml(pool, qwen, mover))
    search, support = s.kubectl("search"), s.kubectl("support")
    qwen_status = wait_ready(support, "qwen", log=log, timeout=180)["status"]
    before = wait_ready(search, "mover", log=log, timeout=180)["status"]
    former, on_pool = before["endpointName"], qwen_status["endpointName"]
    assert former != on_pool
    qwen_component = qwen_status["inferenceComponents"][0]["name"]
    qwen_before = api.inference_component(qwen_component)
    assert s.emulator.moto_url is not None
    aas: Any = boto3_client(s.emulator.moto_url, "application-autoscaling")
    cloudwatch: Any = boto3_client(s.emulator.moto_url, "cloudwatch")

    def targets() -> list[str]:
        found = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        return sorted(t["ResourceId"] for t in found if former in t["ResourceId"])

    def alarms() -> list[str]:
        return [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]]

    wait_for(
        lambda: targets() == [f"inference-component/{former}-base"],
        timeout=60,
        what="the former base component autoscaled",
    )

    # plan shows the move's first step: the component on the pool, nothing deleted yet.
    moved_spec = {k: v for k, v in mover["spec"].items() if k != "instance"}
    manifest = tmp_path / "mover.yaml"
    manifest.write_text(to_yaml({**mover, "spec": {**moved_spec, "pool": pool_ref}}))
    planned = cli(
        "plan",
        "-f",
        str(manifest),
        "-o",
        "json",
        emulator=s.emulator,
        kubeconfig=s.cluster.kubeconfig,
    )
    assert planned.returncode == 2, planned.stderr + planned.stdout
    changes = json.loads(planned.stdout)["llmEndpoints"][0]["changes"]
    # The pool's base, then its adapter on that base, under names of their own, then
    # the base's autoscaling there; nothing of the former is deleted yet.
    assert [(c["operation"], c["name"]) for c in changes] == [
        ("CreateInferenceComponent", f"{former}-pool"),
        ("CreateInferenceComponent", f"{former}-pool--poet"),
        ("RegisterScalableTarget", f"inference-component/{former}-pool"),
        ("PutScalingPolicy", f"{on_pool}-target-tracking"),
    ], changes
    assert api.inventory().endpoints == sorted([former, on_pool])

    runtime: Any = boto3_client(s.emulator.url, "sagemaker-runtime")
    # A move the pool has no room for (a ceiling of 5 copies beside qwen's 4 on 8 GPUs)
    # is PoolFull: nothing is sent for it, the former endpoint keeps serving.
    inventory = api.inventory()
    patch_spec(
        search, "mover", {"instance": None, "pool": pool_ref, "autoscaling": {"maxReplicas": 5}}
    )
    wait_for(
        lambda: degraded_reason(get_llme(search, "mover")) == "PoolFull",
        timeout=60,
        what="mover's move PoolFull",
    )
    assert api.inventory() == inventory
    runtime.invoke_endpoint(
        EndpointName=former,
        InferenceComponentName=before["inferenceComponents"][0]["name"],
        Body=json.dumps(CHAT).encode(),
    )

    # Invocations as an application that reads status before each call would send them.
    failures: list[str] = []
    served: list[str] = []
    stop = threading.Event()

    def call() -> None:
        while not stop.is_set():
            obj = get_llme(search, "mover") or {}
            status = obj.get("status") or {}
            ready = condition(obj, "Ready")
            if ready.get("status") != "True":
                if ready.get("reason") != "PoolFull":  # the refused move, until maxReplicas: 2
                    failures.append(f"not Ready: {ready}")
                stop.wait(0.2)
                continue
            # The base, then the adapter, each by the component status names.
            adapter = next(a for a in status["adapters"] if a["name"] == "poet")
            for component in (status["inferenceComponents"][0]["name"], adapter["componentName"]):
                target = {
                    "EndpointName": status["endpointName"],
                    "InferenceComponentName": component,
                }
                try:
                    runtime.invoke_endpoint(**target, Body=json.dumps(CHAT).encode())
                    served.append(component)
                except Exception as exc:  # a failed invocation is what this test looks for
                    failures.append(f"{target}: {exc}")

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    try:
        patch_spec(search, "mover", {"autoscaling": {"maxReplicas": 2}})

        def moved() -> bool:
            status = (get_llme(search, "mover") or {}).get("status") or {}
            return status.get("endpointName") == on_pool and former not in api.inventory().endpoints

        wait_for(moved, timeout=180, what="mover on the pool, its former endpoint deleted")
    finally:
        stop.set()
        caller.join(timeout=30)
    assert not failures, failures[:5]
    # Base and adapter answered on both endpoints, under names that never met.
    former_adapter, pooled_adapter = f"{former}--poet", f"{former}-pool--poet"
    assert {former_adapter, pooled_adapter, f"{former}-base", f"{former}-pool"} <= set(served)
    # Its former model, config and components went too; qwen's component was untouched.
    mine = [n for n in api.inventory().inference_components if n.startswith(former)]
    assert sorted(mine) == [f"{former}-pool", pooled_adapter]
    assert [c for c in mine if api.inference_component(c)["EndpointName"] != on_pool] == []
    # Its autoscaling moved: one target, on the pool's component; the former's target,
    # policies and their alarms are gone from Application Auto Scaling and CloudWatch.
    assert targets() == [f"inference-component/{former}-pool"]
    assert not [a for a in alarms() if f"{former}-base" in a]
    scaling = ((get_llme(search, "mover") or {}).get("status") or {}).get("autoscaling") or {}
    assert (scaling.get("minReplicas"), scaling.get("maxReplicas")) == (1, 2), scaling
    wait_for(
        lambda: not [c for c in api.inventory().endpoint_configs if c.startswith(former)],
        timeout=60,
        what="the former endpoint config deleted",
    )
    after = api.inference_component(qwen_component)
    assert after["LastModifiedTime"] == qwen_before["LastModifiedTime"]
    invoke(s, "search", "mover")

    # Back to standalone is refused at apply; the model keeps serving on the pool.
    refused = search(
        "patch",
        "llmendpoint",
        "mover",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"pool": None, "instance": {"type": "ml.g5.12xlarge"}}}),
        check=False,
    )
    assert refused.returncode != 0 and "pool cannot be changed or removed" in refused.stderr

    for kubectl, name in ((search, "mover"), (support, "qwen")):
        kubectl("delete", "llme", name, "--wait=false")
    s.kubectl("platform")("delete", "llmpool", "moves", "--wait=false")
    wait_for(lambda: api.inventory().empty, timeout=180, what="nothing left in SageMaker")


def test_a_pools_instance_type_change_rolls_out_with_both_models_answering(
    setup: Setup, tmp_path: Path
) -> None:
    """ml.g5.12xlarge -> ml.g6.12xlarge on a pool hosting two namespaces' models: a
    rolling update; both answer throughout (invoke in a loop, reading status before each
    call) and stay Ready; kubectl shows the rollout; a type the models do not fit is then
    refused with nothing sent."""
    s = setup
    api = SageMaker(s.emulator)
    log = s.operator.log_tail
    docs = example(s)
    pool = copy.deepcopy(docs[0])
    pool["metadata"]["name"] = "retype"
    pool["spec"]["rollout"] = {"maxBatchPercent": 50, "waitSeconds": 0}
    models = [copy.deepcopy(d) for d in docs[1:]]
    for doc in models:
        doc["spec"]["pool"]["name"] = "retype"
    s.cluster.kubectl("apply", "-f", "-", input=to_yaml(pool, *models))
    platform = s.kubectl("platform")
    keys = [("search", "mistral"), ("support", "qwen")]
    for key, name in keys:
        wait_ready(s.kubectl(key), name, log=log, timeout=180)
    endpoint = get_llme(s.kubectl("search"), "mistral")["status"]["endpointName"]  # type: ignore[index]
    path = f"{POOLS}/namespaces/{s.ns['platform']}/llmendpointpools/retype"

    def pool_status() -> dict[str, Any]:
        found: dict[str, Any] = (platform.api_get(path) or {}).get("status") or {}
        return found

    wait_for(
        lambda: pool_status().get("instanceType") == "ml.g5.12xlarge",
        timeout=60,
        what="the pool's status to name the type it runs",
    )
    g5_share = float(
        get_llme(s.kubectl("search"), "mistral")["status"]["estimatedHourlyCostUSD"]  # type: ignore[index]
    )
    # plan shows the change before it is applied: the calls, the rollout and the cost.
    manifest = tmp_path / "retype.yaml"
    changed = copy.deepcopy(pool)
    changed["spec"]["instance"]["type"] = "ml.g6.12xlarge"
    manifest.write_text(to_yaml(changed))
    planned = cli(
        "plan",
        "-f",
        str(manifest),
        "-o",
        "json",
        emulator=s.emulator,
        kubeconfig=s.cluster.kubeconfig,
    )
    assert planned.returncode == 2, planned.stderr + planned.stdout
    (pool_plan,) = json.loads(planned.stdout)["llmEndpointPools"]
    assert [c["operation"] for c in pool_plan["changes"]] == [
        "CreateEndpointConfig",
        "UpdateEndpoint",
    ]
    assert pool_plan["rollout"].startswith("ml.g5.12xlarge -> ml.g6.12xlarge"), pool_plan
    assert pool_plan["costPerHourUSD"]["before"] != pool_plan["costPerHourUSD"]["after"]
    runtime: Any = boto3_client(s.emulator.url, "sagemaker-runtime")
    failures: list[str] = []
    served = 0
    stop = threading.Event()

    def call() -> None:
        nonlocal served
        while not stop.is_set():
            for key, name in keys:
                obj = get_llme(s.kubectl(key), name) or {}
                ready = condition(obj, "Ready")
                if ready.get("status") != "True":
                    failures.append(f"{name} not Ready: {ready}")
                    continue
                status = obj["status"]
                try:
                    runtime.invoke_endpoint(
                        EndpointName=status["endpointName"],
                        InferenceComponentName=status["inferenceComponents"][0]["name"],
                        Body=json.dumps(CHAT).encode(),
                    )
                    served += 1
                except Exception as exc:  # a failed invocation is what this test looks for
                    failures.append(f"{name}: {exc}")

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    try:
        platform(
            "patch",
            "llmpool",
            "retype",
            "--type=merge",
            "-p",
            json.dumps({"spec": {"instance": {"type": "ml.g6.12xlarge"}}}),
        )
        wait_for(
            lambda: (pool_status().get("rollout") or {}).get("phase") == "Succeeded",
            timeout=180,
            what="the pool's change of instance type to succeed",
        )
    finally:
        stop.set()
        caller.join(timeout=30)
    assert not failures, failures[:5]
    assert served > 0
    status = pool_status()
    assert status["instanceType"] == "ml.g6.12xlarge"
    assert status["rollout"]["fromInstanceType"] == "ml.g5.12xlarge"
    config = api.endpoint(endpoint)["EndpointConfigName"]
    assert config == status["rollout"]["target"]
    wide = platform("get", "llmpool", "retype", "-o", "wide").stdout
    assert "ml.g6.12xlarge" in wide and "Succeeded" in wide, wide
    reasons = [e["reason"] for e in pool_events(s, "retype")]
    assert "RolloutStarted" in reasons and "RolloutSucceeded" in reasons, reasons
    # The cost follows the type that runs: the model's share is now at g6 prices.
    wait_for(
        lambda: (
            float(
                (get_llme(s.kubectl("search"), "mistral") or {})["status"]["estimatedHourlyCostUSD"]
            )
            != g5_share
        ),
        timeout=90,
        what="mistral's share at the new type's price",
    )
    for key, name in keys:
        invoke(s, key, name)

    # One ml.g5.2xlarge (1 GPU) per instance cannot hold the models at their ceilings:
    # plan says so (an error, nothing to call), then the operator refuses it.
    before = api.inventory()
    small = copy.deepcopy(changed)
    small["spec"]["instance"]["type"] = "ml.g5.2xlarge"
    manifest.write_text(to_yaml(small))
    refused_plan = cli(
        "plan", "-f", str(manifest), emulator=s.emulator, kubeconfig=s.cluster.kubeconfig
    )
    assert refused_plan.returncode == 1, refused_plan.stderr + refused_plan.stdout
    assert "error: ModelsDoNotFit: instance.type ml.g5.2xlarge" in refused_plan.stdout
    platform(
        "patch",
        "llmpool",
        "retype",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"instance": {"type": "ml.g5.2xlarge"}}}),
    )
    wait_for(
        lambda: degraded_reason(platform.api_get(path)) == "ModelsDoNotFit",
        timeout=60,
        what="the pool's refused change of instance type",
    )
    message = condition(platform.api_get(path) or {}, "Degraded")["message"]
    assert f"{s.ns['support']}/qwen" in message and "ml.g5.2xlarge" in message, message
    assert api.inventory() == before  # nothing sent, not even the endpoint config
    assert pool_status()["rollout"]["phase"] == "Refused"
    for key, name in keys:
        invoke(s, key, name)

    for key, name in keys:
        s.kubectl(key)("delete", "llme", name, "--wait=false")
    platform("delete", "llmpool", "retype", "--wait=false")
    wait_for(lambda: api.inventory().empty, timeout=180, what="nothing left in SageMaker")


def pool_events(s: Setup, name: str) -> list[dict[str, Any]]:
    path = f"/api/v1/namespaces/{s.ns['platform']}/events"
    listed: list[dict[str, Any]] = s.kubectl("platform").api_get(
        path, fieldSelector=f"involvedObject.name={name}"
    )["items"]
    return listed


def test_scale_to_zero_a_model_rollout_and_tenancy_refusals_on_a_pool(setup: Setup) -> None:
    """On a pool with minCount 0: a model scales to zero and the pool's instances go to
    its minCount; another model's spec.model change rolls out under spec.rollout while the
    first is untouched; an LLMEndpoint whose namespace role is in another account, and one
    in another region, are refused with the reason and nothing sent for them."""
    s = setup
    api = SageMaker(s.emulator)
    admin = s.emulator.admin_client
    log = s.operator.log_tail
    docs = example(s)
    pool = copy.deepcopy(docs[0])
    pool["metadata"]["name"] = "idle"
    pool["spec"]["instance"]["minCount"] = 0
    pool["spec"]["allowedNamespaces"] = [s.ns["search"], s.ns["support"], s.ns["other"]]
    sleeper = guest(s, "support", "sleeper", 1)
    sleeper["spec"]["pool"]["name"] = "idle"
    sleeper["spec"]["autoscaling"] = {
        "minReplicas": 1,
        "maxReplicas": 2,
        "metric": "ConcurrentRequests",
        "target": 4,
        "scaleInCooldownSeconds": 300,
        "scaleOutCooldownSeconds": 0,
    }
    # A second model on the pool that scales to zero as well (its own alarm names).
    napper = copy.deepcopy(sleeper)
    napper["metadata"]["name"] = "napper"
    napper["spec"]["autoscaling"]["minReplicas"] = 0
    s.cluster.kubectl("apply", "-f", "-", input=to_yaml(pool, sleeper, napper))
    support, search = s.kubectl("support"), s.kubectl("search")
    status = wait_ready(support, "sleeper", log=log, timeout=180)["status"]
    wait_ready(support, "napper", log=log, timeout=180)
    endpoint, base = status["endpointName"], status["inferenceComponents"][0]["name"]

    # Scale to zero: copies to 0, and the pool's instances to its minCount (0).
    patch_spec(support, "sleeper", {"autoscaling": {"minReplicas": 0}})
    admin.set_load(inference_component=base, concurrent_requests=0)

    def at_zero() -> bool:
        variant = api.endpoint(endpoint)["ProductionVariants"][0]
        return variant["CurrentInstanceCount"] == 0 and all(
            condition(get_llme(support, name) or {}, "Ready").get("reason") == "ScaledToZero"
            for name in ("sleeper", "napper")
        )

    wait_for(at_zero, timeout=120, what="both at zero copies, the pool at zero instances")
    assert s.emulator.moto_url is not None
    cloudwatch: Any = boto3_client(s.emulator.moto_url, "cloudwatch")
    alarms = [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]]
    assert len([a for a in alarms if a.endswith("-no-capacity")]) == 2, alarms
    for name in ("sleeper", "napper"):
        assert degraded_reason(get_llme(support, name)) is None
    wait_for(
        lambda: ((s.pool_named("idle") or {}).get("status") or {}).get("costPerHourUSD") == "0.00",
        timeout=60,
        what="the pool's cost at zero instances",
    )
    # Traffic returns: the invocation at zero fails, its alarm brings a copy back, and
    # managed instance scaling an instance for it.
    admin.set_load(inference_component=base, concurrent_requests=2)
    runtime: Any = boto3_client(s.emulator.url, "sagemaker-runtime")

    def served() -> bool:
        try:
            runtime.invoke_endpoint(
                EndpointName=endpoint, InferenceComponentName=base, Body=json.dumps(CHAT).encode()
            )
        except runtime.exceptions.ValidationError as error:
            assert "no capacity" in str(error)
            return False
        return True

    assert not served()
    wait_for(served, timeout=90, what="an invocation served again", interval=0.3)
    assert api.endpoint(endpoint)["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    # A model rollout on the pool (spec.model changes) under spec.rollout.
    roller = guest(s, "search", "roller", 1)
    roller["spec"]["pool"]["name"] = "idle"
    roller["spec"]["rollout"] = {"strategy": "Rolling", "maxBatchPercent": 50, "waitSeconds": 0}
    search.apply(to_yaml(roller))
    rolled = wait_ready(search, "roller", log=log, timeout=180)["status"]
    component = rolled["inferenceComponents"][0]["name"]
    model_before = api.inference_component(component)["Specification"]["ModelName"]
    sleeper_before = api.inference_component(base)
    patch_spec(search, "roller", {"model": {"maxModelLength": 2048}})

    def rolled_out() -> bool:
        obj = get_llme(search, "roller") or {}
        rollout = (obj.get("status") or {}).get("rollout") or {}
        return (
            rollout.get("phase") == "Succeeded" and condition(obj, "Ready").get("status") == "True"
        )

    wait_for(rolled_out, timeout=180, what="roller's model change rolled out")
    after = api.inference_component(component)
    assert after["Specification"]["ModelName"] != model_before
    assert after["EndpointName"] == endpoint
    untouched = api.inference_component(base)
    assert untouched["LastModifiedTime"] == sleeper_before["LastModifiedTime"]
    assert untouched["Specification"] == sleeper_before["Specification"]

    # Tenancy: the pool's account is where its models land.
    inventory = api.inventory()
    s.cluster.kubectl(
        "annotate",
        "namespace",
        s.ns["other"],
        f"{ROLE_ANNOTATION}=arn:aws:iam::222222222222:role/team-b",
        "--overwrite",
    )
    other = s.kubectl("other")
    foreign = guest(s, "other", "foreign", 1)
    foreign["spec"]["pool"]["name"] = "idle"
    other.apply(to_yaml(foreign))
    west = guest(s, "search", "west", 1)
    west["spec"]["pool"]["name"] = "idle"
    west["spec"]["aws"]["region"] = "us-west-2"
    search.apply(to_yaml(west))
    for kubectl, name, words in (
        (other, "foreign", "222222222222"),
        (search, "west", "us-west-2"),
    ):
        wait_for(
            lambda kubectl=kubectl, name=name: (
                degraded_reason(get_llme(kubectl, name)) == "PoolMismatch"
            ),
            timeout=60,
            what=f"{name} PoolMismatch",
        )
        message = condition(get_llme(kubectl, name) or {}, "Degraded")["message"]
        assert words in message, message
    assert api.inventory() == inventory  # nothing sent for either

    s.cluster.kubectl("annotate", "namespace", s.ns["other"], f"{ROLE_ANNOTATION}-")
    for kubectl, name in (
        (support, "sleeper"),
        (support, "napper"),
        (search, "roller"),
        (search, "west"),
    ):
        kubectl("delete", "llme", name, "--wait=false")
    other("delete", "llme", "foreign", "--wait=false")
    s.kubectl("platform")("delete", "llmpool", "idle", "--wait=false")
    wait_for(lambda: api.inventory().empty, timeout=180, what="nothing left in SageMaker")
