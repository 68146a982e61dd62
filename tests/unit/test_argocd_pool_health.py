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
