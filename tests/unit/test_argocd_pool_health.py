"""The Argo CD health check for LLMEndpointPool, run as Lua 5.1 on statuses the
operator writes (shell.pools.pool_status from core.pools' plans)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa.lua51 as lua51
import yaml

from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import pools
from llm_operator.core.desired import Owner
from llm_operator.core.observed import ObservedComponent, ObservedEndpoint
from llm_operator.shell.pools import pool_status

REPO = Path(__file__).resolve().parents[2]
HEALTH_LUA = REPO / "examples" / "argocd" / "llmendpointpool-health.lua"
ARGOCD_CM = REPO / "examples" / "argocd" / "argocd-cm-health.yaml"
SPEC = LLMEndpointPoolSpec.model_validate(
    {
        "instance": {"type": "ml.g5.12xlarge", "minCount": 1, "maxCount": 2},
        "aws": {"region": "us-east-1", "executionRoleArn": "arn:aws:iam::111122223333:role/x"},
    }
)
WANT = pools.render_pool(SPEC, Owner("ml-platform", "shared-g5", "uid-pool"))


def health(obj: dict[str, Any]) -> dict[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals()["obj"] = lua.table_from(obj, recursive=True)
    return {str(k): str(v) for k, v in dict(lua.execute(HEALTH_LUA.read_text())).items()}


def pool(plan: pools.PoolPlan, seen: pools.PoolObserved, copies: int = 2) -> dict[str, Any]:
    placed = [
        {
            "metadata": {"namespace": "search", "name": "mistral"},
            "status": {"pool": {"admitted": True, "copies": copies, "acceleratorsPerCopy": 1}},
        }
    ]
    return {
        "metadata": {"name": "shared-g5", "generation": 1},
        "status": pool_status(WANT, plan, seen, placed, 1),
    }


def endpoint(status: str = "InService") -> ObservedEndpoint:
    return ObservedEndpoint(
        name=WANT.endpoint_name,
        arn="arn",
        status=status,
        config_name=WANT.config_name,
        current_instances=1,
        owner_uid="uid-pool",
    )


def test_healthy_progressing_and_held_deletion() -> None:
    serving = pools.PoolObserved(endpoint(), {}, {})
    assert health(pool(pools.plan_pool(WANT, serving), serving)) == {
        "status": "Healthy",
        "message": "Instances 1/2; 1 model(s) placed",
    }
    creating = pools.PoolObserved(endpoint("Creating"), {}, {})
    assert health(pool(pools.plan_pool(WANT, creating), creating))["status"] == "Progressing"
    placed = ObservedComponent(
        "c",
        "InService",
        WANT.endpoint_name,
        None,
        None,
        None,
        None,
        1,
        1,
        None,
        owner_uid="uid-m",
        owner_name="search/mistral",
    )
    hosting = pools.PoolObserved(endpoint(), {}, {"c": placed})
    held = health(pool(pools.plan_pool_deletion(WANT, hosting, retain=False), hosting))
    assert held["status"] == "Degraded" and "search/mistral" in held["message"]
    assert health({"metadata": {"generation": 1}})["status"] == "Progressing"


def test_a_pool_whose_max_count_no_longer_holds_its_models_is_degraded() -> None:
    # 9 one-GPU copies at their ceiling on 2 x ml.g5.12xlarge (8 GPUs): maxCount was lowered.
    serving = pools.PoolObserved(endpoint(), {}, {})
    obj = pool(pools.plan_pool(WANT, serving), serving, copies=9)
    degraded = next(c for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True" and degraded["reason"] == pools.POOL_OVERCOMMITTED
    assert "search/mistral's 9 copies" in degraded["message"]
    assert "spec.instance.maxCount" in degraded["message"]
    assert health(obj)["status"] == "Degraded"
    # Deleting, the hold says more than the overcommitment.
    held = pools.plan_pool_deletion(WANT, serving, retain=False)
    reason = next(
        c for c in pool(held, serving, copies=9)["status"]["conditions"] if c["type"] == "Degraded"
    )["reason"]
    assert reason != pools.POOL_OVERCOMMITTED


def test_the_argocd_snippet_embeds_the_script_verbatim() -> None:
    config_map = yaml.safe_load(ARGOCD_CM.read_text())
    key = "resource.customizations.health.llmoperator.io_LLMEndpointPool"
    assert config_map["data"][key] == HEALTH_LUA.read_text()


def test_a_change_of_instance_type_is_progressing_then_healthy_or_degraded() -> None:
    spec = SPEC.model_copy(
        update={"instance": SPEC.instance.model_copy(update={"type": "ml.g6.12xlarge"})}
    )
    want = pools.render_pool(spec, Owner("ml-platform", "shared-g5", "uid-pool"))
    old = endpoint()
    rolling = ObservedEndpoint(
        **{
            **old.__dict__,
            "status": "Updating",
            "pending_config": want.config_name,
            "deployment_status": "Baking",
            "deployment_message": "baking batch 1 of 1",
        }
    )
    seen = pools.PoolObserved(rolling, {}, {}, serving_instance_type="ml.g5.12xlarge")
    status = pool_status(want, pools.plan_pool(want, seen), seen, [], 2)
    assert status["instanceType"] == "ml.g5.12xlarge"  # what runs (and is billed) now
    assert status["rollout"]["phase"] == "Baking"
    obj = {"metadata": {"generation": 2}, "status": status}
    rolling_health = health(obj)
    assert rolling_health["status"] == "Progressing"
    assert "Rolling out instance type ml.g6.12xlarge" in rolling_health["message"]
    # SageMaker done: the endpoint serves the new config; the rollout Succeeded.
    done = ObservedEndpoint(**{**old.__dict__, "config_name": want.config_name})
    served = pools.PoolObserved(done, {}, {})
    after = pool_status(want, pools.plan_pool(want, served), served, [], 2, status)
    assert after["rollout"]["phase"] == "Succeeded"
    assert after["instanceType"] == "ml.g6.12xlarge"
    assert after["costPerHourUSD"] != status["costPerHourUSD"]
    assert health({"metadata": {"generation": 2}, "status": after})["status"] == "Healthy"
    # Refused: the placed models would not fit; Degraded with the reason.
    tiny = SPEC.model_copy(
        update={"instance": SPEC.instance.model_copy(update={"type": "ml.inf2.xlarge"})}
    )
    small = pools.render_pool(tiny, Owner("ml-platform", "shared-g5", "uid-pool"))
    guest = pools.Tenant("search", "mistral", None, pools.Demand("search", "mistral", 2, 1, 1, 1))
    refused_seen = pools.PoolObserved(old, {}, {}, serving_instance_type="ml.g5.12xlarge")
    refused = pool_status(
        small, pools.plan_pool(small, refused_seen, [guest]), refused_seen, [], 3, after
    )
    assert refused["rollout"]["phase"] == "Refused"
    verdict = health({"metadata": {"generation": 3}, "status": refused})
    assert verdict["status"] == "Degraded" and "search/mistral" in verdict["message"]
