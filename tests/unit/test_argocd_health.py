"""The Argo CD health check for LLMEndpoint, run as Lua 5.1 (Argo CD's gopher-lua dialect).

Argo CD sets the global `obj` to the live resource and reads `status` and
`message` from the table the script returns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lupa.lua51 as lua51
import pytest
import yaml

from llm_operator.core.status import build_unreachable_status

REPO = Path(__file__).resolve().parents[2]
HEALTH_LUA = REPO / "examples" / "argocd" / "llmendpoint-health.lua"
ARGOCD_CM = REPO / "examples" / "argocd" / "argocd-cm-health.yaml"
HEALTH_KEY = "resource.customizations.health.llmoperator.io_LLMEndpoint"


def health(obj: dict[str, Any], script: str | None = None) -> dict[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals()["obj"] = lua.table_from(obj, recursive=True)
    result = lua.execute(script if script is not None else HEALTH_LUA.read_text())
    return {str(k): str(v) for k, v in dict(result).items()}


def condition(kind: str, status: str, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": "2026-11-21T10:00:00Z",
    }


def llme(
    generation: int,
    status: dict[str, Any] | None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": {"name": "mistral-7b", "namespace": "llm", "generation": generation},
        "spec": {"model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"}},
    }
    if status is not None:
        obj["status"] = status
    return obj


def phase_status(
    phase: str,
    generation: int,
    *,
    ready: str,
    degraded: str = "False",
    progressing: str = "False",
    reason: str | None = None,
    message: str = "",
    failure: str | None = None,
) -> dict[str, Any]:
    reason = reason or phase
    status: dict[str, Any] = {
        "phase": phase,
        "observedGeneration": generation,
        "conditions": [
            condition("Ready", ready, reason, message, generation),
            condition("Progressing", progressing, reason, message, generation),
            condition("Degraded", degraded, reason, message, generation),
        ],
        "kopf": {"progress": {}},
    }
    if failure is not None:
        status["failureReason"] = failure
    return status


CASES = [
    pytest.param(llme(1, None), "Progressing", "Waiting for the operator", id="no-status"),
    pytest.param(
        llme(
            1,
            phase_status(
                "Pending",
                1,
                ready="False",
                progressing="True",
                message="Waiting for the Secret hf-token",
            ),
        ),
        "Progressing",
        "Waiting for the Secret hf-token",
        id="pending",
    ),
    pytest.param(
        llme(
            1,
            phase_status(
                "Creating",
                1,
                ready="False",
                progressing="True",
                message="Endpoint mistral-7b-ab12 is Creating",
            ),
        ),
        "Progressing",
        "Creating: Endpoint mistral-7b-ab12 is Creating",
        id="creating",
    ),
    pytest.param(
        llme(
            2,
            phase_status(
                "Updating",
                2,
                ready="False",
                progressing="True",
                message="Inference component copies 2 -> 4",
            ),
        ),
        "Progressing",
        "copies 2 -> 4",
        id="updating",
    ),
    pytest.param(
        llme(
            3,
            phase_status(
                "InService", 3, ready="True", reason="InService", message="4/4 copies in service"
            ),
        ),
        "Healthy",
        "4/4 copies in service",
        id="in-service",
    ),
    pytest.param(
        llme(
            3,
            phase_status(
                "InService",
                3,
                ready="True",
                reason="ScaledToZero",
                message="Endpoint llm-mistral is scaled to zero copies while idle",
            ),
        ),
        "Healthy",
        "ScaledToZero: Endpoint llm-mistral is scaled to zero copies",
        id="scaled-to-zero",
    ),
    pytest.param(
        llme(4, phase_status("InService", 3, ready="True", message="4/4 copies in service")),
        "Progressing",
        "generation 4",
        id="in-service-but-spec-changed",
    ),
    pytest.param(
        llme(
            1,
            phase_status(
                "Failed",
                1,
                ready="False",
                degraded="True",
                reason="EndpointFailed",
                message="Endpoint failed",
                failure="CapacityError: Unable to provision requested ML compute capacity",
            ),
        ),
        "Degraded",
        "CapacityError: Unable to provision",
        id="failed",
    ),
    pytest.param(
        llme(
            1,
            phase_status(
                "Failed",
                1,
                ready="False",
                degraded="True",
                reason="UpdateFailed",
                message="UpdateEndpoint failed: quota",
            ),
        ),
        "Degraded",
        "UpdateFailed: UpdateEndpoint failed: quota",
        id="failed-without-reason",
    ),
    pytest.param(
        llme(
            1,
            phase_status(
                "Pending",
                1,
                ready="False",
                degraded="True",
                reason="NameConflict",
                message="endpoint llm-mistral belongs to another LLMEndpoint",
            ),
        ),
        "Degraded",
        "NameConflict: endpoint llm-mistral belongs to another LLMEndpoint",
        id="degraded-condition",
    ),
    pytest.param(
        llme(
            2,
            phase_status(
                "Deleting", 2, ready="False", progressing="True", message="Deleting endpoint"
            ),
        ),
        "Progressing",
        "Deleting endpoint",
        id="deleting",
    ),
    pytest.param(
        llme(
            5,
            {
                "phase": "InService",
                "observedGeneration": 5,
                "conditions": [condition("Ready", "True", "InService", "ready", 4)],
            },
        ),
        "Progressing",
        "",
        id="ready-condition-for-an-older-generation",
    ),
    pytest.param(
        llme(
            6,
            {
                **phase_status(
                    "Updating",
                    6,
                    ready="True",
                    progressing="True",
                    reason="RollingOut",
                    message="serves the previous version",
                ),
                "rollout": {
                    "phase": "Baking",
                    "generation": 6,
                    "step": "Baking",
                    "message": "10% of traffic on the new fleet",
                },
            },
        ),
        "Progressing",
        "Rolling out generation 6 [Baking]: 10% of traffic on the new fleet",
        id="guarded-rollout-baking",
    ),
    pytest.param(
        llme(
            6,
            {
                **phase_status(
                    "InService",
                    6,
                    ready="True",
                    degraded="True",
                    reason="RolledBack",
                    message="SageMaker rolled back endpoint x: alarm p99 fired; generation 6",
                ),
                "rollout": {"phase": "RolledBack", "generation": 6, "alarm": "p99"},
            },
        ),
        "Degraded",
        "RolledBack: SageMaker rolled back endpoint x: alarm p99 fired; generation 6",
        id="guarded-rollout-rolled-back",
    ),
    pytest.param(
        llme(
            7,
            {
                **phase_status("InService", 7, ready="True", reason="InService", message="ok"),
                "rollout": {"phase": "Succeeded", "generation": 7},
            },
        ),
        "Healthy",
        "ok",
        id="guarded-rollout-succeeded",
    ),
]


@pytest.mark.parametrize(("obj", "expected_status", "message_part"), CASES)
def test_health_for_every_phase(
    obj: dict[str, Any], expected_status: str, message_part: str
) -> None:
    result = health(obj)
    assert result["status"] == expected_status
    assert message_part in result["message"]


def test_never_reports_suspended_or_missing() -> None:
    for case in CASES:
        obj = case.values[0]
        assert isinstance(obj, dict)
        assert health(obj)["status"] in {"Healthy", "Progressing", "Degraded"}


def test_argocd_cm_snippet_embeds_the_single_source() -> None:
    config_map = yaml.safe_load(ARGOCD_CM.read_text())
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["name"] == "argocd-cm"
    assert config_map["data"][HEALTH_KEY] == HEALTH_LUA.read_text()


def test_argocd_application_points_at_the_chart_and_examples() -> None:
    apps = list(yaml.safe_load_all((REPO / "examples" / "argocd" / "application.yaml").read_text()))
    paths = {app["spec"]["source"]["path"] for app in apps}
    assert paths == {"charts/llm-operator", "examples"}
    for path in paths:
        assert (REPO / path).is_dir()
    chart_app = next(a for a in apps if a["spec"]["source"]["path"] == "charts/llm-operator")
    values_keys = set(chart_app["spec"]["source"]["helm"]["valuesObject"])
    chart_values = yaml.safe_load((REPO / "charts" / "llm-operator" / "values.yaml").read_text())
    assert values_keys <= set(chart_values)
    endpoints_app = next(a for a in apps if a["spec"]["source"]["path"] == "examples")
    assert (REPO / "examples" / endpoints_app["spec"]["source"]["directory"]["include"]).is_file()


OUTAGE = (
    "SageMaker in us-east-1 does not answer (timeout: Read timeout on endpoint URL); "
    "last answer 2026-11-21T09:59:00Z; generation {generation} waits for it, retried every 2 s"
)


def unreachable(generation: int, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The object after a pass that got no answer from SageMaker (the status the
    operator writes, merged over the previous one)."""
    patch = build_unreachable_status(
        message=OUTAGE.format(generation=generation),
        last_contact=datetime(2026, 11, 21, 9, 59, tzinfo=UTC),
        generation=generation,
        previous=previous,
        now=datetime(2026, 11, 21, 10, 1, tzinfo=UTC),
    )
    return llme(generation, {**(previous or {}), **patch})


@pytest.mark.parametrize(
    ("obj", "expected_status", "message_part"),
    [
        pytest.param(
            unreachable(1, None),
            "Progressing",
            "AwsUnreachable: SageMaker in us-east-1 does not answer (timeout",
            id="new-while-sagemaker-does-not-answer",
        ),
        pytest.param(
            unreachable(4, phase_status("InService", 3, ready="True", message="4/4 copies")),
            "Progressing",
            "AwsUnreachable: SageMaker in us-east-1 does not answer",
            id="spec-changed-while-sagemaker-does-not-answer",
        ),
        # Nothing to apply and the endpoint still serves: the outage shows in the
        # Progressing condition, not as an unhealthy application.
        pytest.param(
            unreachable(3, phase_status("InService", 3, ready="True", message="4/4 copies")),
            "Healthy",
            "4/4 copies",
            id="steady-while-sagemaker-does-not-answer",
        ),
    ],
)
def test_health_while_sagemaker_does_not_answer(
    obj: dict[str, Any], expected_status: str, message_part: str
) -> None:
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    result = health(obj)
    assert result["status"] == expected_status
    assert message_part in result["message"]
