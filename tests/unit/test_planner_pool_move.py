"""A standalone LLMEndpoint moved onto a pool (instance replaced by pool): its former
endpoint serves, and status names it, until the pool's component is InService; only
then (a pass later) are the former component, endpoint, config and model deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from llm_operator.core.actions import (
    CreateInferenceComponent,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
)
from llm_operator.core.desired import DesiredComponent, DesiredState, Host
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedEndpoint, ObservedState
from llm_operator.core.plan import Plan
from llm_operator.core.status import build_status

from .planner_factory import (
    BASE,
    ENDPOINT,
    UID,
    delete,
    make_desired,
    reconcile,
    resource,
    running,
    seen_component,
    seen_endpoint,
)

POOL_UID = "uid-pool"
POOL_ENDPOINT = "llm-shared-pool-9f8e7d"
POOLED = f"{ENDPOINT}-pool"
OLD_CONFIG = "llm-search-mistral-1a2b3c-c-old"


def standalone() -> DesiredState:
    return make_desired()


def pooled() -> DesiredState:
    before = standalone()
    base = before.components[0]
    return replace(
        before,
        endpoint_name=POOL_ENDPOINT,
        components=(DesiredComponent(name=POOLED, specification=base.specification, copies=1),),
        host=Host(namespace="shared", name="pool", uid=POOL_UID, endpoint_name=POOL_ENDPOINT),
    )


def former_of(observed: ObservedState) -> ObservedEndpoint:
    assert observed.former is not None
    return observed.former


def moving(new_status: str | None) -> ObservedState:
    """The former endpoint and its base serving; the pool's base in `new_status`."""
    old = standalone()
    seen = running(old, extra_configs=(OLD_CONFIG,))
    pool_ep = replace(
        seen_endpoint(old), name=POOL_ENDPOINT, config_name="pool-config", owner_uid=POOL_UID
    )
    components = dict(seen.components)
    want = pooled()
    if new_status is not None:
        components[POOLED] = seen_component(want, POOLED, new_status)
    return replace(
        seen,
        endpoint=pool_ep,
        components=components,
        former=seen_endpoint(old),
        endpoint_configs={OLD_CONFIG: resource(OLD_CONFIG)},
    )


def deletes(plan: Plan) -> list[type]:
    return [
        type(a)
        for a in plan.actions
        if isinstance(
            a, DeleteEndpoint | DeleteInferenceComponent | DeleteEndpointConfig | DeleteModel
        )
    ]


def status_of(desired: DesiredState, observed: ObservedState, plan: Plan) -> dict[str, object]:
    return build_status(
        desired=desired,
        observed=observed,
        plan=plan,
        generation=2,
        previous=None,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        hourly_usd_per_instance=None,
    )


def test_the_pool_component_is_created_beside_the_serving_former_one() -> None:
    plan = reconcile(pooled(), moving(None))
    assert [type(a) for a in plan.actions] == [CreateInferenceComponent]
    assert plan.actions[0].key.endswith(POOLED)
    assert plan.ready.status is True and plan.ready.reason == "MovingToPool"
    status = status_of(pooled(), moving(None), plan)
    assert status["endpointName"] == ENDPOINT
    assert status["inferenceComponents"][0]["name"] == BASE  # type: ignore[index]
    assert status["phase"] == "InService"


@pytest.mark.parametrize("new_status", ["Creating", "Failed"])
def test_nothing_former_is_deleted_until_the_pool_component_serves(new_status: str) -> None:
    plan = reconcile(pooled(), moving(new_status))
    assert deletes(plan) == []
    # A failed move keeps status on what still serves.
    assert status_of(pooled(), moving(new_status), plan)["endpointName"] == ENDPOINT
    if new_status == "Creating":
        assert not plan.settled


def test_status_switches_when_the_pool_component_serves_then_the_former_goes() -> None:
    observed = moving("InService")
    first = reconcile(pooled(), observed)
    # The pass that first sees it serve names the pool's endpoint and deletes nothing.
    assert deletes(first) == []
    assert first.memory.moved_onto == POOL_ENDPOINT
    status = status_of(pooled(), observed, first)
    assert status["endpointName"] == POOL_ENDPOINT
    assert status["inferenceComponents"][0]["name"] == POOLED  # type: ignore[index]
    assert first.ready.status is True
    # The next pass deletes the former component (the endpoint waits for it).
    second = reconcile(pooled(), observed, first.memory)
    assert deletes(second) == [DeleteInferenceComponent]
    assert second.actions[0].key.endswith(BASE)


def test_the_former_endpoint_goes_once_empty_then_its_config() -> None:
    memory = PlanMemory(moved_onto=POOL_ENDPOINT)
    observed = moving("InService")
    empty = replace(observed, components={POOLED: observed.components[POOLED]})
    plan = reconcile(pooled(), empty, memory)
    assert [(type(a), a.key.split("/")[-1]) for a in plan.actions] == [(DeleteEndpoint, ENDPOINT)]
    # While it is being deleted its config stays; once it is gone, the config goes.
    going = replace(empty, former=replace(former_of(empty), status="Deleting"))
    assert deletes(reconcile(pooled(), going, memory)) == []
    gone = replace(empty, former=None)
    assert DeleteEndpointConfig in deletes(reconcile(pooled(), gone, memory))


def test_a_former_endpoint_not_ours_is_never_touched() -> None:
    observed = moving("InService")
    theirs = replace(
        observed,
        former=replace(former_of(observed), owner_uid="uid-other"),
        components={POOLED: observed.components[POOLED]},
    )
    plan = reconcile(pooled(), theirs, PlanMemory(moved_onto=POOL_ENDPOINT))
    assert DeleteEndpoint not in deletes(plan)


def test_deleting_in_the_middle_of_a_move_deletes_the_former_endpoint_too() -> None:
    observed = moving("InService")
    plan = delete(pooled(), observed)
    deleted = sorted(a.name for a in plan.actions if isinstance(a, DeleteInferenceComponent))
    assert deleted == sorted([BASE, POOLED])
    empty = replace(observed, components={})
    ended = [a.name for a in delete(pooled(), empty).actions if isinstance(a, DeleteEndpoint)]
    assert ended == [ENDPOINT]  # the former one, never the pool's
    assert observed.former is not None and observed.former.owner_uid == UID
