"""The Argo CD health check for LLMEndpointPolicy, run as Lua 5.1 on statuses the
operator writes (core.policy.policy_status)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa.lua51 as lua51
import yaml

from llm_operator.core import policy

REPO = Path(__file__).resolve().parents[2]
HEALTH_LUA = REPO / "examples" / "argocd" / "llmendpointpolicy-health.lua"
ARGOCD_CM = REPO / "examples" / "argocd" / "argocd-cm-health.yaml"


def health(obj: dict[str, Any]) -> dict[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals()["obj"] = lua.table_from(obj, recursive=True)
    return {str(k): str(v) for k, v in dict(lua.execute(HEALTH_LUA.read_text())).items()}


def obj(selector: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "metadata": {"name": "team", "generation": 3},
        "spec": {"namespaceSelector": selector},
    }
    if status is not None:
        found["status"] = status
    return found


def status_of(selector: dict[str, Any]) -> dict[str, Any]:
    p = policy.parse(obj(selector, None))
    refused = {
        "metadata": {"name": "x", "namespace": "search"},
        "status": {
            "conditions": [{"type": "Degraded", "status": "True", "reason": "BudgetExceeded"}]
        },
    }
    return policy.policy_status(p, [p], {"search": {"tier": "a"}}, [refused])


def test_healthy_degraded_and_progressing() -> None:
    selector = {"matchLabels": {"tier": "a"}}
    assert health(obj(selector, status_of(selector))) == {
        "status": "Healthy",
        "message": "Governs 1 namespace(s); 1 LLMEndpoint(s) refused",
    }
    nothing = {"matchLabels": {"tier": "none"}}
    assert health(obj(nothing, status_of(nothing))) == {
        "status": "Degraded",
        "message": "namespaceSelector matches no namespace",
    }
    assert health(obj(selector, None))["status"] == "Progressing"
    stale = {**status_of(selector), "observedGeneration": 2}
    assert health(obj(selector, stale))["status"] == "Progressing"


def test_argocd_cm_snippet_embeds_the_single_source() -> None:
    config_map = yaml.safe_load(ARGOCD_CM.read_text())
    key = "resource.customizations.health.llmoperator.io_LLMEndpointPolicy"
    assert config_map["data"][key] == HEALTH_LUA.read_text()
