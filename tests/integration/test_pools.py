"""LLMEndpointPools against the emulator, in-process: the pool creates its endpoint, two
LLMEndpoints from two namespaces place their models on it, a third that does not fit
is PoolFull with nothing sent for it and fits once another is scaled down, and the
pool's deletion is held while models are placed on it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from llm_operator.api import catalog
from llm_operator.core import policy, pools
from llm_operator.shell.governance import Governance
from llm_operator.shell.pool_handlers import pool_pass
from llm_operator.shell.reconciler import Reconciler
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.emulator_fixtures import REGION, boto3_client
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import RecordingCluster, reconciler

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
POOL: dict[str, Any] = {
    "apiVersion": "llmoperator.io/v1alpha1",
    "kind": "LLMEndpointPool",
    "metadata": {"namespace": "ml-platform", "name": "shared-g5", "uid": "uid-pool"},
    "spec": {
        # One ml.g5.12xlarge: 4 GPUs.
        "instance": {"type": "ml.g5.12xlarge", "minCount": 1, "maxCount": 1},
        "aws": {"region": REGION, "executionRoleArn": ROLE},
        "allowedNamespaces": ["search", "support"],
    },
}


def guest(namespace: str, name: str, copies: int) -> dict[str, Any]:
    return {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": {"namespace": namespace, "name": name, "uid": f"uid-{name}", "generation": 1},
        "spec": {
            "pool": {"name": "shared-g5", "namespace": "ml-platform"},
            "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1", "engine": "vllm"},
            "resources": {"copies": copies, "acceleratorsPerCopy": 1, "cpusPerCopy": 2},
            "aws": {"region": REGION, "executionRoleArn": ROLE},
        },
    }


class PoolCluster(RecordingCluster):
    """The recording cluster with objects: one status per LLMEndpoint, and the pool."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.pool_status: dict[str, Any] = {}

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        stored = self.objects.setdefault((meta["namespace"], meta["name"]), obj)
        stored["spec"] = obj["spec"]
        stored.setdefault("status", {})
        return stored

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        found = self.objects.get((namespace, name))
        if found is None:
            return False
        found["status"].update(status)
        return True

    async def list_llmendpoints(self, namespace: str | None) -> list[Mapping[str, Any]]:
        return [o for (ns, _), o in self.objects.items() if namespace in (None, ns)]

    async def read_pool(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        meta = POOL["metadata"]
        return POOL if (namespace, name) == (meta["namespace"], meta["name"]) else None

    async def patch_pool_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.pool_status.update(status)


def ready(obj: Mapping[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def degraded(obj: Mapping[str, Any]) -> str | None:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next(
        (c["reason"] for c in conditions if c["type"] == "Degraded" and c["status"] == "True"),
        None,
    )


async def settle(
    r: Reconciler, cluster: PoolCluster, *objs: dict[str, Any], pool: Mapping[str, Any] = POOL
) -> None:
    for _ in range(80):
        await pool_pass(r, pool, deleting=False)
        for obj in objs:
            await r.reconcile(cluster.put(obj), deleting=False)
        if all(
            ready(cluster.objects[(o["metadata"]["namespace"], o["metadata"]["name"])])
            for o in objs
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError([cluster.objects[k].get("status") for k in cluster.objects])


def test_models_of_two_namespaces_share_a_pool_and_a_third_waits_for_room(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = PoolCluster()
        r = reconciler(cluster)
        try:
            a, b = guest("search", "mistral", 2), guest("support", "llama", 1)
            await settle(r, cluster, a, b)
            state = emulated_sagemaker.admin.state()["accounts"]["123456789012"][REGION]
            endpoint = pools.endpoint_name("ml-platform", "shared-g5")
            assert list(state["endpoints"]) == [endpoint]
            on_pool = [
                c for c in state["inference_components"].values() if c["EndpointName"] == endpoint
            ]
            assert len(on_pool) == 2
            # Settled, the pool is judged from the shared inventory: its endpoint is not
            # Described again, nor are its owners' tags read again.
            await pool_pass(r, POOL, deleting=False)
            quiet = dict(emulated_sagemaker.admin.calls())
            await pool_pass(r, POOL, deleting=False)
            spent = dict(emulated_sagemaker.admin.calls())
            for operation in ("DescribeEndpoint", "ListTags"):
                assert spent.get(operation) == quiet.get(operation), operation
            # A third asking for 2 GPUs: 1 left of 4.
            calls = dict(emulated_sagemaker.admin.calls())
            c = guest("search", "big", 2)
            await r.reconcile(cluster.put(c), deleting=False)
            stored = cluster.objects[("search", "big")]
            assert degraded(stored) == pools.POOL_FULL
            message = next(
                x["message"] for x in stored["status"]["conditions"] if x["type"] == "Degraded"
            )
            assert "search/mistral" in message and "support/llama" in message
            after = dict(emulated_sagemaker.admin.calls())
            assert after.get("CreateModel") == calls.get("CreateModel")
            assert after.get("CreateInferenceComponent") == calls.get("CreateInferenceComponent")
            # Scaling mistral down to one copy makes room: big is placed.
            a["spec"]["resources"]["copies"] = 1
            await settle(r, cluster, a, b, c)
            # Deleting the pool while it hosts them is held, naming them.
            _delay, done = await pool_pass(r, POOL, deleting=True)
            assert not done
            assert cluster.pool_status["conditions"][1]["reason"] == pools.POOL_IN_USE
            assert "support/llama" in cluster.pool_status["conditions"][1]["message"]
            assert endpoint in emulated_sagemaker.admin.resource_names(region=REGION)["endpoints"]
        finally:
            r.close()

    asyncio.run(scenario())


def test_after_a_restart_a_removed_adapter_on_a_pool_is_still_found_and_deleted(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = PoolCluster()
        a = guest("search", "mistral", 1)
        a["spec"]["adapters"] = [{"name": "poet", "artifactUri": "s3://bucket-a/poet.tar.gz"}]
        b = guest("support", "llama", 1)
        first = reconciler(cluster)
        try:
            await settle(first, cluster, a, b)
        finally:
            first.close()
        endpoint = pools.endpoint_name("ml-platform", "shared-g5")

        def on_pool() -> list[str]:
            tables = emulated_sagemaker.admin.state()["accounts"]["123456789012"][REGION]
            return sorted(
                n
                for n, c in tables["inference_components"].items()
                if c["EndpointName"] == endpoint
            )

        assert len(on_pool()) == 3
        # A new replica (nothing it created itself) with the adapter gone from the spec.
        del a["spec"]["adapters"]
        second = reconciler(cluster)
        try:
            for _ in range(80):
                await second.reconcile(cluster.put(a), deleting=False)
                if len(on_pool()) == 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            second.close()
        left = on_pool()
        assert len(left) == 2 and not any(n.endswith("--poet") for n in left), left
        assert any("llama" in n for n in left)  # the neighbour untouched

    asyncio.run(scenario())


def test_a_pools_maxcount_change_moves_its_endpoint_and_keeps_the_models_serving(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = PoolCluster()
        r = reconciler(cluster)
        try:
            a = guest("search", "mistral", 2)
            await settle(r, cluster, a)
            endpoint = pools.endpoint_name("ml-platform", "shared-g5")
            api = emulated_sagemaker.admin

            def record() -> dict[str, Any]:
                found: dict[str, Any] = api.state()["accounts"]["123456789012"][REGION][
                    "endpoints"
                ][endpoint]
                return found

            before = record()["EndpointConfigName"]
            bigger = copy.deepcopy(POOL)
            bigger["spec"]["instance"]["maxCount"] = 3
            for _ in range(80):
                await pool_pass(r, bigger, deleting=False)
                now = record()
                if now["EndpointConfigName"] != before and now["EndpointStatus"] == "InService":
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(record())
            await settle(r, cluster, a, pool=bigger)
            variant = record()["ProductionVariants"][0]
            assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == 3
            # Its old config is deleted once the endpoint serves the new one.
            for _ in range(20):
                await pool_pass(r, bigger, deleting=False)
            configs = api.resource_names(region=REGION)["endpoint_configs"]
            assert before not in configs
        finally:
            r.close()

    asyncio.run(scenario())


def test_a_pools_instance_type_change_rolls_out_with_the_models_serving_and_survives_a_crash(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """ml.g5.12xlarge -> ml.g6.12xlarge: a new endpoint config, UpdateEndpoint with a
    RollingUpdatePolicy; the placed model is Ready and its component InService at every
    pass; a crash between the new config and the update converges with one of each; a
    type the model does not fit is refused with nothing sent."""

    async def scenario() -> None:
        cluster = PoolCluster()
        r = reconciler(cluster)
        api = emulated_sagemaker.admin
        endpoint = pools.endpoint_name("ml-platform", "shared-g5")

        def record() -> dict[str, Any]:
            found: dict[str, Any] = api.state()["accounts"]["123456789012"][REGION]["endpoints"][
                endpoint
            ]
            return found

        def status() -> Mapping[str, Any]:
            return cluster.pool_status

        try:
            a = guest("search", "mistral", 2)
            await settle(r, cluster, a)
            before = record()["EndpointConfigName"]
            assert status()["instanceType"] == "ml.g5.12xlarge"
            g6 = copy.deepcopy(POOL)
            g6["spec"]["instance"]["type"] = "ml.g6.12xlarge"
            g6["spec"]["rollout"] = {"waitSeconds": 0, "maxBatchPercent": 50}
            g6["status"] = cluster.pool_status  # the pool's status as the operator reads it
            # A crash between the new config and the update: UpdateEndpoint fails.
            api.faults(internal_error_rate=1.0, operations=["UpdateEndpoint"])
            for _ in range(3):
                await pool_pass(r, g6, deleting=False)
            assert record()["EndpointConfigName"] == before
            api.clear_faults()
            configs = api.resource_names(region=REGION)["endpoint_configs"]
            new = [c for c in configs if c != before and c.startswith(endpoint)]
            assert len(new) == 1, configs
            r.close()
            r = reconciler(cluster)  # the restart
            phases: list[str] = []
            for _ in range(200):
                await pool_pass(r, g6, deleting=False)
                await r.reconcile(cluster.put(a), deleting=False)
                rollout = status().get("rollout") or {}
                phases.append(str(rollout.get("phase")))
                guest_status = cluster.objects[("search", "mistral")]
                assert ready(guest_status), guest_status["status"]
                if rollout.get("phase") == "Succeeded":
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError((phases[-5:], record()))
            assert "InProgress" in phases or "Baking" in phases
            now = record()
            assert now["EndpointConfigName"] == new[0]
            assert "RollingUpdatePolicy" in now["LastDeploymentConfig"]
            assert status()["instanceType"] == "ml.g6.12xlarge"
            assert status()["rollout"]["fromInstanceType"] == "ml.g5.12xlarge"
            assert api.calls().get("CreateEndpointConfig") == 2  # the first, and the new one
            reasons = [reason for _, reason, _ in cluster.events]
            assert "RolloutStarted" in reasons and "RolloutSucceeded" in reasons
            for _ in range(5):
                await pool_pass(r, g6, deleting=False)
            assert before not in api.resource_names(region=REGION)["endpoint_configs"]
            # The model still serves, now on the new instances.
            await settle(r, cluster, a, pool=g6)

            # One 1-GPU ml.g5.2xlarge cannot hold two 1-GPU copies: refused, nothing sent.
            small = copy.deepcopy(g6)
            small["spec"]["instance"]["type"] = "ml.g5.2xlarge"
            sent = api.calls()
            await pool_pass(r, small, deleting=False)
            after = api.calls()
            for op in ("CreateEndpointConfig", "UpdateEndpoint"):
                assert after.get(op) == sent.get(op)
            condition = next(c for c in status()["conditions"] if c["type"] == "Degraded")
            assert condition["reason"] == pools.POOL_MODELS_DO_NOT_FIT
            assert "search/mistral: 2 copies x 1 accelerators" in condition["message"]
            assert status()["rollout"]["phase"] == "Refused"
            assert status()["instanceType"] == "ml.g6.12xlarge"
            assert record()["EndpointConfigName"] == new[0]
        finally:
            r.close()

    asyncio.run(scenario())


def test_a_pools_instance_type_change_sagemaker_rolls_back_is_not_tried_again(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """The new instances fail to start: SageMaker rolls back, the pool is Degraded with
    its reason and keeps serving on the old type, and the change is not sent again."""

    async def scenario() -> None:
        cluster = PoolCluster()
        r = reconciler(cluster)
        api = emulated_sagemaker.admin
        endpoint = pools.endpoint_name("ml-platform", "shared-g5")
        try:
            a = guest("search", "mistral", 2)
            await settle(r, cluster, a)
            g6 = copy.deepcopy(POOL)
            g6["spec"]["instance"]["type"] = "ml.g6.12xlarge"
            g6["spec"]["rollout"] = {"waitSeconds": 0}
            g6["status"] = cluster.pool_status
            reason = "CapacityError: no ml.g6.12xlarge capacity in us-east-1a"
            api.faults(fail_next=[{"resource": "endpoint", "name": endpoint, "reason": reason}])
            for _ in range(80):
                await pool_pass(r, g6, deleting=False)
                await r.reconcile(cluster.put(a), deleting=False)
                assert ready(cluster.objects[("search", "mistral")])
                if (cluster.pool_status.get("rollout") or {}).get("phase") == "RolledBack":
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(cluster.pool_status)
            assert degraded(g6) == pools.POOL_ROLLED_BACK
            condition = next(
                c for c in cluster.pool_status["conditions"] if c["type"] == "Degraded"
            )
            assert reason in condition["message"]
            assert cluster.pool_status["instanceType"] == "ml.g5.12xlarge"
            sent = api.calls().get("UpdateEndpoint")
            for _ in range(10):
                await pool_pass(r, g6, deleting=False)
            assert api.calls().get("UpdateEndpoint") == sent
            reasons = [reason for _, reason, _ in cluster.events]
            assert pools.POOL_ROLLED_BACK in reasons
        finally:
            r.close()

    asyncio.run(scenario())


class GovernedCluster(PoolCluster):
    """PoolCluster under one LLMEndpointPolicy with a budget: 10 USD/h, 1 LLMEndpoint."""

    pool_body: dict[str, Any] = POOL

    async def list_policies(self) -> list[Mapping[str, Any]]:
        budget = {"maxEndpoints": 1, "maxCostPerHourUSD": "10.00"}
        return [{"metadata": {"name": "team"}, "spec": {"namespaceSelector": {}, "budget": budget}}]

    async def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        return {}

    async def list_pools(self, namespace: str) -> list[Mapping[str, Any]]:
        pool = {**self.pool_body, "kind": "LLMEndpointPool", "status": self.pool_status}
        return [pool] if namespace == "ml-platform" else []


def test_a_pool_counts_against_its_namespaces_budget_and_its_models_toward_max_endpoints(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = GovernedCluster()
        r = reconciler(cluster)
        r.governance = Governance(cluster, max_age=0.0)
        api = emulated_sagemaker.admin
        try:
            # 2 x ml.g5.12xlarge at maxCount: 14.18 USD/h, over 10: nothing is created.
            big = copy.deepcopy(POOL)
            big["spec"]["instance"]["maxCount"] = 2
            cluster.pool_body = big
            await pool_pass(r, big, deleting=False)
            assert cluster.pool_status["conditions"][1]["reason"] == policy.BUDGET_EXCEEDED
            assert "LLMEndpointPool shared-g5: ml.g5.12xlarge x 2" in str(cluster.pool_status)
            assert "CreateEndpointConfig" not in api.calls()
            # At maxCount 1 (7.09) it fits, is recorded admitted, and creates its endpoint.
            cluster.pool_body = POOL
            a, b = guest("ml-platform", "mistral", 1), guest("ml-platform", "llama", 1)
            await settle(r, cluster, a)
            assert cluster.pool_status["policy"]["admitted"] is True
            assert cluster.pool_status["policy"]["ceilingCostPerHourUSD"] == "7.09"
            # mistral took the namespace's one LLMEndpoint: llama is refused.
            await r.reconcile(cluster.put(b), deleting=False)
            assert degraded(cluster.objects[("ml-platform", "llama")]) == policy.BUDGET_EXCEEDED
        finally:
            r.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "crash_once", ["pool_component_created", "pool_adapter_created", "status_switched"]
)
def test_a_move_onto_a_pool_interrupted_by_a_restart_converges_with_nothing_leaked(
    aws_env: None, emulated_sagemaker: SageMakerEmulator, crash_once: str
) -> None:
    """A standalone LLMEndpoint with a LoRA adapter moved onto the pool by its spec; the
    replica doing it is replaced mid-way by one that created nothing: the former
    endpoint, config, base component and adapter go once the pool's base and adapter
    serve, and exactly those two are left."""

    async def scenario() -> None:
        cluster = PoolCluster()
        neighbour = guest("support", "llama", 1)
        mover = guest("search", "mover", 1)
        pool_ref = mover["spec"].pop("pool")
        mover["spec"]["instance"] = {"type": "ml.g5.12xlarge", "count": 1}
        mover["spec"]["adapters"] = [{"name": "poet", "artifactUri": "s3://bucket-a/poet.tar.gz"}]
        pool_endpoint = pools.endpoint_name("ml-platform", "shared-g5")

        def tables() -> dict[str, Any]:
            found: dict[str, Any] = emulated_sagemaker.admin.state()["accounts"]["123456789012"][
                REGION
            ]
            return found

        first = reconciler(cluster)
        try:
            await settle(first, cluster, neighbour, mover)
            status = cluster.objects[("search", "mover")]["status"]
            former = status["endpointName"]
            assert former != pool_endpoint
            neighbour_component = dict(
                next(c for n, c in tables()["inference_components"].items() if "llama" in n)
            )
            mover = copy.deepcopy(mover)
            del mover["spec"]["instance"]
            mover["spec"]["pool"] = pool_ref
            mover["metadata"]["generation"] = 2
            for _ in range(80):
                await pool_pass(first, POOL, deleting=False)
                await first.reconcile(cluster.put(mover), deleting=False)
                status = cluster.objects[("search", "mover")]["status"]
                on_pool = [
                    n
                    for n, c in tables()["inference_components"].items()
                    if n.startswith(former) and c["EndpointName"] == pool_endpoint
                ]
                if crash_once == "pool_component_created" and on_pool:
                    break
                if crash_once == "pool_adapter_created" and len(on_pool) == 2:
                    break
                if crash_once == "status_switched" and status["endpointName"] == pool_endpoint:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(status)
            assert former in tables()["endpoints"]  # nothing former deleted yet
            # Both are billed meanwhile: the cost shown counts the former endpoint's instance.
            standalone = catalog.hourly_cost("ml.g5.12xlarge", 1)
            assert standalone is not None
            assert Decimal(status["estimatedHourlyCostUSD"]) >= standalone
        finally:
            first.close()
        second = reconciler(cluster)
        try:
            for _ in range(120):
                await pool_pass(second, POOL, deleting=False)
                await second.reconcile(cluster.put(mover), deleting=False)
                if former not in tables()["endpoints"] and not [
                    c for c in tables()["endpoint_configs"] if c.startswith(former)
                ]:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(cluster.objects[("search", "mover")]["status"])
        finally:
            second.close()
        mine = {
            n: c["EndpointName"]
            for n, c in tables()["inference_components"].items()
            if n.startswith(former)
        }
        assert mine == {f"{former}-pool": pool_endpoint, f"{former}-pool--poet": pool_endpoint}
        status = cluster.objects[("search", "mover")]["status"]
        assert status["adapters"] == [
            {"name": "poet", "componentName": f"{former}-pool--poet", "status": "InService"}
        ]
        assert status["endpointName"] == pool_endpoint and ready(
            cluster.objects[("search", "mover")]
        )
        # Moved: its share of the pool alone (1 GPU of the 4 of one instance).
        assert Decimal(status["estimatedHourlyCostUSD"]) == (standalone / 4).quantize(
            Decimal("0.01")
        )
        # No model of its own is left that no component runs.
        components = repr(list(tables()["inference_components"].values()))
        assert all(m in components for m in tables()["models"] if m.startswith(former))
        after = next(c for n, c in tables()["inference_components"].items() if "llama" in n)
        assert after["LastModifiedTime"] == neighbour_component["LastModifiedTime"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "crash_once", ["pool_target_registered", "alarm_moved", "former_target_deregistered"]
)
def test_an_autoscaled_move_interrupted_by_a_restart_leaves_one_target_and_one_alarm(
    aws_env_with_moto: EmulatorServer, crash_once: str
) -> None:
    """A standalone LLMEndpoint scaled to zero when idle (a target, its target-tracking
    and from-zero policies, the no-capacity alarm) moved onto the pool; the replica doing
    it is replaced between two of the calls that move its autoscaling. The new one
    converges: one target, on the pool's component, with its two policies and the alarm
    firing its from-zero policy; nothing of the former left in SageMaker, Application
    Auto Scaling or CloudWatch."""
    moto = aws_env_with_moto.moto_url
    assert moto is not None
    aas: Any = boto3_client(moto, "application-autoscaling")
    cw: Any = boto3_client(moto, "cloudwatch")
    admin = AdminClient(aws_env_with_moto.url)

    def tables() -> dict[str, Any]:
        found: dict[str, Any] = admin.state()["accounts"]["123456789012"][REGION]
        return found

    def targets() -> dict[str, list[str]]:
        """ResourceId -> its policies' names."""
        found = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        return {
            t["ResourceId"]: sorted(
                p["PolicyName"] for p in policies if p["ResourceId"] == t["ResourceId"]
            )
            for t in found
        }

    def every_alarm() -> list[str]:
        return [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]]

    def alarms() -> dict[str, dict[str, Any]]:
        """The operator's (not those Application Auto Scaling keeps for target tracking)."""
        return {
            a["AlarmName"]: a
            for a in cw.describe_alarms()["MetricAlarms"]
            if not a["AlarmName"].startswith("TargetTracking-")
        }

    async def scenario() -> None:
        cluster = PoolCluster()
        mover = guest("search", "mover", 1)
        pool_ref = mover["spec"].pop("pool")
        mover["spec"]["instance"] = {
            "type": "ml.g5.12xlarge",
            "count": 1,
            "minCount": 0,
            "maxCount": 1,
        }
        mover["spec"]["autoscaling"] = {"minReplicas": 0, "maxReplicas": 2, "target": 4}
        mover["spec"]["adapters"] = [{"name": "poet", "artifactUri": "s3://bucket-a/poet.tar.gz"}]
        pool_endpoint = pools.endpoint_name("ml-platform", "shared-g5")
        first = reconciler(cluster)
        try:
            for _ in range(80):
                await settle(first, cluster, mover)
                if len(targets()) == 1 and alarms():
                    break
                await asyncio.sleep(0.05)
            former = cluster.objects[("search", "mover")]["status"]["endpointName"]
            former_target = f"inference-component/{former}-base"
            pool_target = f"inference-component/{former}-pool"
            alarm = f"{former}-no-capacity"
            assert list(targets()) == [former_target] and list(alarms()) == [alarm]
            mover = copy.deepcopy(mover)
            del mover["spec"]["instance"]
            mover["spec"]["pool"] = pool_ref
            mover["metadata"]["generation"] = 2
            for _ in range(160):
                await pool_pass(first, POOL, deleting=False)
                await first.reconcile(cluster.put(mover), deleting=False)
                found = targets()
                dimension = alarms()[alarm]["Dimensions"][0]["Value"]
                if crash_once == "pool_target_registered" and pool_target in found:
                    break
                if crash_once == "alarm_moved" and dimension == f"{former}-pool":
                    break
                if crash_once == "former_target_deregistered" and former_target not in found:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(cluster.objects[("search", "mover")]["status"])
            # Never two targets on one component; the former endpoint still stands.
            assert set(targets()) <= {former_target, pool_target}
            assert former in tables()["endpoints"]
        finally:
            first.close()
        second = reconciler(cluster)
        try:
            for _ in range(160):
                await pool_pass(second, POOL, deleting=False)
                await second.reconcile(cluster.put(mover), deleting=False)
                if (
                    former not in tables()["endpoints"]
                    and not [c for c in tables()["endpoint_configs"] if c.startswith(former)]
                    and list(targets()) == [pool_target]
                ):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(cluster.objects[("search", "mover")]["status"])
        finally:
            second.close()
        assert targets() == {
            pool_target: sorted([f"{pool_endpoint}-target-tracking", f"{pool_endpoint}-from-zero"])
        }
        policies = aas.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=pool_target
        )["ScalingPolicies"]
        from_zero = next(p["PolicyARN"] for p in policies if p["PolicyType"] == "StepScaling")
        assert list(alarms()) == [alarm]
        assert not [a for a in every_alarm() if f"{former}-base" in a]
        assert alarms()[alarm]["AlarmActions"] == [from_zero]
        assert alarms()[alarm]["Dimensions"] == [
            {"Name": "InferenceComponentName", "Value": f"{former}-pool"}
        ]
        mine = {
            n: c["EndpointName"]
            for n, c in tables()["inference_components"].items()
            if n.startswith(former)
        }
        assert mine == {f"{former}-pool": pool_endpoint, f"{former}-pool--poet": pool_endpoint}
        status = cluster.objects[("search", "mover")]["status"]
        assert status["endpointName"] == pool_endpoint
        assert status["autoscaling"]["minReplicas"] == 0
        assert status["autoscaling"]["maxReplicas"] == 2

    asyncio.run(scenario())
