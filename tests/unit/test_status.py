"""The status block users read with kubectl and Argo CD reads for health."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from llm_operator.api.models import EndpointTypeName, LLMEndpointStatus
from llm_operator.core.desired import DesiredState
from llm_operator.core.memory import Failure, PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.status import (
    MEMORY_KEY,
    build_problem_status,
    build_status,
    build_unreachable_status,
    format_usd,
)
from tests.unit.planner_factory import (
    BASE,
    ENDPOINT,
    adapter_name,
    make_desired,
    reconcile,
    running,
    seen_component,
    seen_endpoint,
    with_components,
)

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def status_of(
    desired: DesiredState,
    observed: ObservedState,
    *,
    previous: dict[str, Any] | None = None,
    now: datetime = T0,
    price: Decimal | float | None = Decimal("7.09"),
    generation: int = 3,
) -> dict[str, Any]:
    memory = PlanMemory.from_dict(previous.get(MEMORY_KEY) if previous else None)
    result = reconcile(desired, observed, memory)
    return build_status(
        desired=desired,
        observed=observed,
        plan=result,
        generation=generation,
        previous=previous,
        now=now,
        hourly_usd_per_instance=price,
    )


def test_ready_inference_component_endpoint() -> None:
    desired = make_desired(adapters={"support": "s3://b/s.tgz"})
    status = status_of(desired, running(desired))
    arn = f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/{ENDPOINT}"
    assert status == {
        "phase": "InService",
        "observedGeneration": 3,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "InService",
                "message": f"Endpoint {ENDPOINT} is serving the desired spec",
                "lastTransitionTime": "2026-11-21T10:00:00Z",
                "observedGeneration": 3,
            },
            {
                "type": "Progressing",
                "status": "False",
                "reason": "Settled",
                "message": "Nothing left to do",
                "lastTransitionTime": "2026-11-21T10:00:00Z",
                "observedGeneration": 3,
            },
            {
                "type": "Degraded",
                "status": "False",
                "reason": "AsExpected",
                "message": "No failures",
                "lastTransitionTime": "2026-11-21T10:00:00Z",
                "observedGeneration": 3,
            },
        ],
        "endpointName": ENDPOINT,
        "endpointArn": arn,
        "endpointConfigName": desired.endpoint_config.name,
        "modelName": desired.model.name,
        "inferenceComponents": [
            {"name": BASE, "status": "InService", "copies": {"desired": 4, "current": 4}},
            {"name": adapter_name("support"), "status": "InService"},
        ],
        "adapters": [
            {
                "name": "support",
                "componentName": adapter_name("support"),
                "status": "InService",
            }
        ],
        "sagemakerStatus": "InService",
        "copies": {"desired": 4, "current": 4},
        "copiesSummary": "4/4",
        "instances": {"desired": 1, "current": 1},
        "replicas": 4,
        "selector": "llmoperator.io/name=mistral",
        "autoscaling": None,
        "invocationUrl": (
            f"https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/{ENDPOINT}/invocations"
        ),
        "estimatedHourlyCostUSD": "7.09",
        "failureReason": None,
        MEMORY_KEY: PlanMemory(tags={"team": "search"}).to_dict(),
    }


def test_before_anything_exists() -> None:
    desired = make_desired(count=2)
    status = status_of(desired, ObservedState())
    assert status["phase"] == "Creating"
    assert status["endpointArn"] is None
    assert status["sagemakerStatus"] is None
    assert status["copiesSummary"] == "0/4"
    assert status["instances"] == {"desired": 2, "current": 0}
    assert status["estimatedHourlyCostUSD"] == "14.18"
    assert status["inferenceComponents"] == [{"name": BASE, "copies": {"desired": 4, "current": 0}}]


def test_model_endpoint_has_no_copies() -> None:
    desired = make_desired(endpoint_type="Model")
    status = status_of(desired, running(desired))
    assert (status["copies"], status["copiesSummary"], status["inferenceComponents"]) == (
        None,
        None,
        [],
    )
    assert status["phase"] == "InService"


def test_cost_follows_running_instances_and_is_unknown_without_a_price() -> None:
    desired = make_desired()
    scaled = replace(
        running(desired), endpoint=seen_endpoint(desired, current_instances=3, desired_instances=3)
    )
    assert status_of(desired, scaled)["estimatedHourlyCostUSD"] == "21.27"
    assert status_of(desired, scaled)["instances"] == {"desired": 3, "current": 3}
    assert status_of(desired, scaled, price=None)["estimatedHourlyCostUSD"] is None


@pytest.mark.parametrize(
    ("amount", "text"),
    [(Decimal("7.09"), "7.09"), (1.005, "1.01"), (Decimal("0.004"), "0.00"), (20, "20.00")],
)
def test_prices_have_two_decimals(amount: Decimal | float, text: str) -> None:
    assert format_usd(amount) == text


def test_transition_time_moves_only_when_a_condition_flips() -> None:
    desired = make_desired()
    creating = replace(
        running(desired), components={BASE: seen_component(desired, BASE, "Creating")}
    )
    first = status_of(desired, creating, now=T0)
    second = status_of(desired, running(desired), previous=first, now=T1)
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times == {
        "Ready": "2026-11-21T10:05:00Z",
        "Progressing": "2026-11-21T10:05:00Z",
        "Degraded": "2026-11-21T10:00:00Z",
    }


def test_failure_shows_then_clears() -> None:
    desired = make_desired()
    failed = with_components(
        running(desired),
        seen_component(desired, BASE, "Failed", current_copies=0, failure_reason="OOM"),
    )
    first = status_of(desired, failed)
    assert first["phase"] == "Failed"
    assert first["failureReason"] == f"SageMaker inference component {BASE} failed: OOM"
    degraded = first["conditions"][2]
    assert (degraded["status"], degraded["reason"]) == ("True", "ComponentFailed")
    healed = status_of(desired, running(desired), previous=first, now=T1)
    assert healed["failureReason"] is None
    assert healed["phase"] == "InService"


def test_planner_memory_round_trips_through_status() -> None:
    desired = make_desired(copies=6)
    status = status_of(desired, running(make_desired()))
    memory = PlanMemory.from_dict(status[MEMORY_KEY])
    assert memory.component_updates  # the runtime-config update in flight
    assert (
        status_of(desired, running(make_desired()), previous=status)[MEMORY_KEY]
        == status[MEMORY_KEY]
    )


def test_observed_generation_is_stamped_everywhere() -> None:
    desired = make_desired()
    status = status_of(desired, running(desired), generation=7)
    assert status["observedGeneration"] == 7
    assert {c["observedGeneration"] for c in status["conditions"]} == {7}


def test_invalid_spec_patches_only_phase_conditions_and_reason() -> None:
    desired = make_desired()
    ready = status_of(desired, running(desired))
    message = "copies x acceleratorsPerCopy (8) exceed the 4 GPUs of ml.g5.12xlarge"
    patch = build_problem_status(
        reason="InvalidSpec",
        message=message,
        generation=4,
        previous=ready,
        now=T1,
    )
    assert set(patch) == {"phase", "observedGeneration", "conditions", "failureReason"}
    assert patch["phase"] == "Failed"
    assert patch["failureReason"] == message
    assert [(c["type"], c["status"], c["reason"]) for c in patch["conditions"]] == [
        ("Ready", "False", "InvalidSpec"),
        ("Progressing", "False", "Blocked"),
        ("Degraded", "True", "InvalidSpec"),
    ]
    assert patch["conditions"][1]["lastTransitionTime"] == "2026-11-21T10:00:00Z"
    assert patch["conditions"][0]["lastTransitionTime"] == "2026-11-21T10:05:00Z"


def test_a_problem_while_deleting_keeps_the_deleting_phase() -> None:
    patch = build_problem_status(
        reason="AwsError",
        message="SageMaker: ThrottlingException: slow down",
        generation=2,
        previous=None,
        now=T1,
        deleting=True,
    )
    assert patch["phase"] == "Deleting"
    assert [(c["type"], c["status"]) for c in patch["conditions"]] == [
        ("Ready", "False"),
        ("Progressing", "False"),
        ("Degraded", "True"),
    ]


def test_invocation_url_in_a_china_region_uses_the_china_domain() -> None:
    desired = replace(make_desired(), region="cn-north-1")
    status = status_of(desired, running(desired))
    assert status["invocationUrl"] == (
        f"https://runtime.sagemaker.cn-north-1.amazonaws.com.cn/endpoints/"
        f"{desired.endpoint_name}/invocations"
    )


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value


@pytest.mark.parametrize("endpoint_type", ["InferenceComponent", "Model"])
def test_status_fits_the_crd_schema_without_losing_a_field(endpoint_type: EndpointTypeName) -> None:
    adapters = {"support": "s3://b/s.tgz"} if endpoint_type == "InferenceComponent" else None
    desired = make_desired(endpoint_type=endpoint_type, adapters=adapters)
    status = status_of(desired, running(desired))
    parsed = LLMEndpointStatus.model_validate(status).model_dump(mode="json", exclude_none=True)
    assert parsed.pop(MEMORY_KEY) == status[MEMORY_KEY]
    assert parsed == _without_nones({k: v for k, v in status.items() if k != MEMORY_KEY})


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies a status merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def test_a_merge_patch_of_the_new_status_forgets_what_is_over() -> None:
    desired = make_desired(count=2, copies=6)
    failed_cfg = make_desired(count=3).endpoint_config.name
    stored = status_of(desired, running(make_desired()))
    stored[MEMORY_KEY] = PlanMemory(
        endpoint_update=failed_cfg,
        failed_endpoint_update=Failure(failed_cfg, "capacity"),
        component_updates={BASE: "fp-old", "gone": "fp"},
        rejected={"CreateModel/m": Failure("x", "bad")},
        tags={"team": "search", "project": "atlas"},
    ).to_dict()
    stored["failureReason"] = "capacity"
    fresh = status_of(desired, running(desired), previous=stored, now=T1)
    written = _merge_patch(stored, fresh)
    # The tags applied are what the spec asks now: the key taken away does not linger.
    assert PlanMemory.from_dict(written[MEMORY_KEY]) == PlanMemory(tags={"team": "search"})
    assert "failureReason" not in written
    assert written["phase"] == "InService"


@pytest.mark.parametrize("owner", [None, "uid-other"])
def test_status_never_shows_a_resource_that_is_not_ours(owner: str | None) -> None:
    desired = make_desired()
    observed = replace(
        running(desired),
        endpoint=seen_endpoint(desired, owner_uid=owner, config_name="hand-made"),
        components={BASE: seen_component(desired, BASE, owner_uid=owner)},
    )
    status = status_of(desired, observed)
    assert status["phase"] == "Failed"
    assert status["endpointArn"] is None
    assert status["endpointConfigName"] == desired.endpoint_config.name
    assert status["copiesSummary"] == "0/4"
    assert "status" not in status["inferenceComponents"][0]


def test_sagemaker_not_answering_moves_the_generation_and_keeps_what_is_known() -> None:
    desired = make_desired()
    served = status_of(desired, running(desired), generation=3)
    contact = T0 - timedelta(minutes=1)

    def outage(previous: dict[str, Any], generation: int, now: datetime) -> dict[str, Any]:
        patch = build_unreachable_status(
            message="SageMaker in us-east-1 does not answer (timeout: ...)",
            last_contact=contact,
            generation=generation,
            previous=previous,
            now=now,
        )
        return {**previous, **patch}

    # Same generation: what was known stays (the endpoint still serves).
    steady = outage(served, 3, T1)
    kinds = {c["type"]: c for c in steady["conditions"]}
    assert kinds["Ready"] == {c["type"]: c for c in served["conditions"]}["Ready"]
    assert (kinds["Progressing"]["status"], kinds["Progressing"]["reason"]) == (
        "True",
        "AwsUnreachable",
    )
    assert steady["phase"] == "InService"
    assert steady["aws"] == {"lastContactTime": "2026-11-21T09:59:00Z"}

    # A spec change: seen (observedGeneration moves) but not known to be applied.
    changed = outage(served, 4, T1)
    assert changed["observedGeneration"] == 4
    kinds = {c["type"]: c for c in changed["conditions"]}
    assert {k: (c["status"], c["observedGeneration"]) for k, c in kinds.items()} == {
        "Ready": ("Unknown", 4),
        "Progressing": ("True", 4),
        "Degraded": ("Unknown", 4),
    }
    # A later pass of the same outage changes nothing, transition times included.
    assert outage(changed, 4, T1 + timedelta(minutes=1)) == changed

    # Never seen by SageMaker: Pending; no contact since the operator started.
    fresh = build_unreachable_status(
        message="...", last_contact=None, generation=1, previous=None, now=T0
    )
    assert (fresh["phase"], fresh["aws"]) == ("Pending", {"lastContactTime": None})
    LLMEndpointStatus.model_validate(_without_nones(fresh))
