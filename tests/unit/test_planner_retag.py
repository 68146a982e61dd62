"""Tags follow the spec: what exists is re-tagged when the effective tags change, keys the
operator set and no longer wants are removed, keys added by hand and the ownership tags
are left alone, and none of it reads a tag (the plan's memory records what was applied)."""

from __future__ import annotations

from dataclasses import replace

from llm_operator.core.actions import (
    AddTags,
    DropEndpointConfigTags,
    DropEndpointTags,
    DropInferenceComponentTags,
    DropModelTags,
    DropTags,
    TagEndpoint,
    TagEndpointConfig,
    TagInferenceComponent,
    TagModel,
)
from llm_operator.core.desired import MANAGED_BY, MANAGED_BY_TAG, UID_TAG, DesiredState
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.retag import converge
from tests.unit.planner_factory import OTHER_UID, UID, make_desired, reconcile, running

APPLIED = {"team": "search", "cost-center": "1234", "project": "atlas"}


def desired_with(tags: dict[str, str]) -> DesiredState:
    plain = make_desired()
    return replace(plain, tags={**tags, UID_TAG: UID, MANAGED_BY_TAG: MANAGED_BY})


def with_arns(observed: ObservedState) -> ObservedState:
    def arn(kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:us-east-1:111122223333:{kind}/{name}"

    return replace(
        observed,
        components={
            n: replace(c, arn=arn("inference-component", n)) for n, c in observed.components.items()
        },
        models={n: replace(r, arn=arn("model", n)) for n, r in observed.models.items()},
        endpoint_configs={
            n: replace(r, arn=arn("endpoint-config", n))
            for n, r in observed.endpoint_configs.items()
        },
    )


def test_a_changed_added_or_removed_tag_retags_every_existing_resource() -> None:
    want = desired_with({"team": "search", "cost-center": "5678", "env": "prod"})
    plan = reconcile(want, with_arns(running(want)), PlanMemory(tags=APPLIED))

    assert [type(a) for a in plan.actions] == [
        TagEndpoint,
        DropEndpointTags,
        TagInferenceComponent,
        DropInferenceComponentTags,
        TagEndpointConfig,
        DropEndpointConfigTags,
        TagModel,
        DropModelTags,
    ]
    for action in plan.actions:
        assert action.required_uid() == UID
        if isinstance(action, AddTags):
            # Only what changed or is new, with the managed-by tag IAM asks of tagging.
            assert action.tags == {
                MANAGED_BY_TAG: MANAGED_BY,
                "cost-center": "5678",
                "env": "prod",
            }
        else:
            assert isinstance(action, DropTags)
            assert action.keys == ("project",)
    # Nothing is created again, and the endpoint stays serving.
    assert plan.phase == "InService"
    assert plan.memory.tags == {"team": "search", "cost-center": "5678", "env": "prod"}


def test_once_recorded_the_tags_cost_no_call() -> None:
    want = desired_with(APPLIED)
    plan = reconcile(want, with_arns(running(want)), PlanMemory(tags=APPLIED))
    assert plan.actions == ()
    assert plan.memory.tags == APPLIED


def test_nothing_recorded_yet_is_taken_as_applied() -> None:
    """Resources made by a version that recorded nothing carry what the spec asked for."""
    want = desired_with(APPLIED)
    plan = reconcile(want, with_arns(running(want)))
    assert plan.actions == ()
    assert plan.memory.tags == APPLIED


def test_a_key_added_by_hand_is_left_alone() -> None:
    """Only keys the memory records as ours are removed: "owner-team", added by hand on
    the resources and never in the effective tags, is in no request."""
    want = desired_with({"team": "search"})
    plan = reconcile(want, with_arns(running(want)), PlanMemory(tags=APPLIED))
    removed = {k for a in plan.actions if isinstance(a, DropTags) for k in a.keys}
    added = {k for a in plan.actions if isinstance(a, AddTags) for k in a.tags}
    assert removed == {"cost-center", "project"}
    assert "owner-team" not in removed | added
    assert not [a for a in plan.actions if isinstance(a, AddTags)]  # nothing changed or new


def test_ownership_tags_are_never_removed_or_rewritten() -> None:
    """Even a record naming an ownership key (llmoperator.io/*, the cluster id) never
    makes it a key to remove; only managed-by rides along on each AddTags."""
    applied = {**APPLIED, "llmoperator.io/cluster-id": "c-1", "llmoperator.io/cluster": "x"}
    want = desired_with({"team": "platform"})
    plan = reconcile(want, with_arns(running(want)), PlanMemory(tags=applied))
    for action in plan.actions:
        if isinstance(action, DropTags):
            assert action.keys == ("cost-center", "project")
        else:
            assert isinstance(action, AddTags)
            assert action.tags == {MANAGED_BY_TAG: MANAGED_BY, "team": "platform"}


def test_only_resources_whose_uid_tag_is_ours_are_retagged() -> None:
    want = desired_with({"team": "platform"})
    seen = with_arns(running(want))
    seen = replace(
        seen, models={n: replace(r, owner_uid=OTHER_UID) for n, r in seen.models.items()}
    )
    actions = converge(want, seen, APPLIED)
    assert actions
    assert not [a for a in actions if isinstance(a, TagModel | DropModelTags)]


def test_the_record_survives_status_and_a_removed_key_leaves_it() -> None:
    """Kept as a list in status: a merge patch replaces it whole, so a key taken away
    does not linger there."""
    memory = PlanMemory(tags={"team": "search"})
    data = memory.to_dict()
    assert data["tags"] == [{"key": "team", "value": "search"}]
    assert PlanMemory.from_dict(data).tags == {"team": "search"}
    assert PlanMemory.from_dict({**data, "tags": None}).tags is None
    assert PlanMemory.from_dict({}).tags is None


def test_a_rejected_tagging_call_keeps_the_old_record() -> None:
    """A tagging call SageMaker rejected is held back with what follows it: what exists
    still carries the recorded tags, so the record stays and nothing reads as done."""
    want = desired_with({"team": "platform"})
    seen = with_arns(running(want))
    first = reconcile(want, seen, PlanMemory(tags=APPLIED)).actions[0]
    memory = PlanMemory(tags=APPLIED).with_rejection(first, "tag value not allowed")
    plan = reconcile(want, seen, memory)
    assert plan.actions == ()
    assert plan.memory.tags == APPLIED


def test_a_spec_asking_the_same_tags_again_after_a_crash_retags_again() -> None:
    """The record moves only with a memory written after every call succeeded: a pass
    that crashed midway left the old record, and the next pass sends every call again."""
    want = desired_with({"team": "platform"})
    seen = with_arns(running(want))
    first = reconcile(want, seen, PlanMemory(tags=APPLIED))
    again = reconcile(want, seen, PlanMemory(tags=APPLIED))
    assert again.actions == first.actions
    assert reconcile(want, seen, first.memory).actions == ()
