"""Each action class is the one home of its call: its request is what its AWS API takes."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from llm_operator.api.models import RolloutSpec
from llm_operator.core import actions
from llm_operator.core.actions import Action, Effect, Guard, Lookup
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedState
from llm_operator.core.rollout import owned_alarms
from llm_operator.shell import execute
from llm_operator.shell.commands import audit, plan
from tests.unit import planner_factory
from tests.unit.planner_factory import create_config, create_model, make_desired

SESSION = botocore.session.get_session()
SAGEMAKER = SESSION.get_service_model("sagemaker")
ERRORS, LATENCY = owned_alarms(
    RolloutSpec.model_validate(
        {"autoRollback": {"maxErrorRatePercent": 1, "maxP99LatencyMs": 900}}
    ),
    endpoint_name="ep",
    variant_name="AllTraffic",
    component_name="ep-base",
    owner="search/mistral",
)
DESIRED = make_desired(adapters={"sql": "s3://bucket/sql.tar.gz"})
BASE, ADAPTER = DESIRED.components
TAGS = {"llmoperator.io/uid": "uid-1"}
RETAIN = {"llmoperator.io/retained": "2025-01-02T03:04:05Z"}

EVERY_ACTION: list[Action] = [
    create_model(DESIRED),
    create_config(DESIRED),
    actions.CreateEndpoint(name="ep", config_name="ep-c1", tags=TAGS),
    actions.UpdateEndpoint(name="ep", config_name="ep-c2"),
    actions.CreateInferenceComponent(
        name=BASE.name,
        endpoint_name="ep",
        variant_name="AllTraffic",
        specification=BASE.specification,
        copies=2,
        tags=TAGS,
    ),
    actions.CreateInferenceComponent(
        name=ADAPTER.name,
        endpoint_name="ep",
        variant_name=None,
        specification=ADAPTER.specification,
        copies=None,
        tags=TAGS,
    ),
    actions.UpdateInferenceComponent(name=BASE.name, specification=BASE.specification, copies=3),
    actions.UpdateInferenceComponentRuntimeConfig(name=BASE.name, copies=4),
    actions.DeleteInferenceComponent(name=BASE.name),
    actions.DeleteEndpoint(name="ep"),
    actions.DeleteEndpointConfig(name="ep-c1"),
    actions.DeleteModel(name="ep-m1"),
    actions.CreateAlarm(name=ERRORS.name, spec=ERRORS.request, tags=TAGS),
    actions.UpdateAlarm(name=LATENCY.name, spec=LATENCY.request, tags=TAGS),
    actions.DeleteAlarm(name=LATENCY.name, owner_uid="uid-1"),
    actions.UpdateEndpoint(name="ep", config_name="ep-c2", retain_instance_count=True),
    actions.UpdateEndpointWeightsAndCapacities(name="ep", variant_name="AllTraffic", instances=3),
    actions.RegisterScalableTarget(
        name=f"inference-component/{BASE.name}",
        dimension="sagemaker:inference-component:DesiredCopyCount",
        min_capacity=0,
        max_capacity=4,
        tags=TAGS,
    ),
    actions.PutScalingPolicy(
        name="ep-target-tracking",
        resource_id=f"inference-component/{BASE.name}",
        dimension="sagemaker:inference-component:DesiredCopyCount",
        policy_type="TargetTrackingScaling",
        configuration={
            "TargetValue": 4.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": (
                    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
                )
            },
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
        owner_uid="uid-1",
    ),
    actions.PutScalingPolicy(
        name="ep-from-zero",
        resource_id=f"inference-component/{BASE.name}",
        dimension="sagemaker:inference-component:DesiredCopyCount",
        policy_type="StepScaling",
        configuration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": ({"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1},),
        },
        owner_uid="uid-1",
    ),
    actions.DeleteScalingPolicy(
        name="ep-target-tracking",
        resource_id=f"inference-component/{BASE.name}",
        dimension="sagemaker:inference-component:DesiredCopyCount",
        owner_uid="uid-1",
    ),
    actions.DeregisterScalableTarget(
        name=f"inference-component/{BASE.name}",
        dimension="sagemaker:inference-component:DesiredCopyCount",
        owner_uid="uid-1",
    ),
    *(
        tag(
            name="ep-x",
            arn="arn:aws:sagemaker:us-east-1:123456789012:x/ep-x",
            tags=RETAIN,
            owner_uid="uid-1",
        )
        for tag in (
            actions.TagModel,
            actions.TagEndpointConfig,
            actions.TagEndpoint,
            actions.TagInferenceComponent,
        )
    ),
    *(
        untag(
            name="ep-x",
            arn="arn:aws:sagemaker:us-east-1:123456789012:x/ep-x",
            keys=("llmoperator.io/uid", "llmoperator.io/managed-by"),
            owner_uid="uid-1",
        )
        for untag in (
            actions.UntagModel,
            actions.UntagEndpointConfig,
            actions.UntagEndpoint,
            actions.UntagInferenceComponent,
        )
    ),
    actions.TagAlarm(
        name=LATENCY.name,
        arn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{LATENCY.name}",
        tags=RETAIN,
        owner_uid="uid-1",
    ),
    actions.TagScalableTarget(
        name=f"inference-component/{BASE.name}",
        arn="arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0ab1",
        dimension="sagemaker:inference-component:DesiredCopyCount",
        tags=RETAIN,
        owner_uid="uid-1",
    ),
]
TAGGING = (actions.AddTags, actions.TagAlarm, actions.TagScalableTarget, actions.RemoveTags)
SAGEMAKER_ACTIONS = [a for a in EVERY_ACTION if a.kind.service == "sagemaker"]


def _operation_classes() -> set[type[Action]]:
    """Every class that names a call (the AddTags subclasses differ only in their kind)."""
    return {
        c
        for c in vars(actions).values()
        if isinstance(c, type) and issubclass(c, Action) and "operation" in vars(c)
    }


def test_every_action_class_is_covered() -> None:
    classes = {next(c for c in type(a).__mro__ if "operation" in vars(c)) for a in EVERY_ACTION}
    assert classes == _operation_classes()


# The guards that read the resource's tags right before the call, and so must find it.
READS_TAGS = set(Guard) - {Guard.NONE, Guard.DELETE}


def test_every_action_class_declares_its_guard() -> None:
    """A class naming a call says which ownership guard runs right before it, itself (not
    by inheritance), and how that guard finds the resource whose tags it reads: adding a
    call without deciding that fails here."""
    for cls in _operation_classes():
        assert isinstance(vars(cls).get("guard"), Guard), f"{cls.__name__} declares no guard"
        if cls.guard in READS_TAGS:
            assert cls.lookup is not Lookup.NONE, f"{cls.__name__} declares no lookup"
        else:
            assert cls.lookup is Lookup.NONE, f"{cls.__name__}: {cls.guard} reads no tags"
    assert {c.guard for c in _operation_classes()} == set(Guard)  # no guard left unused


def test_the_executor_runs_every_guard_and_lookup_from_tables() -> None:
    """shell.execute dispatches on the declarations alone: a table entry for each, and no
    isinstance on action types."""
    assert set(execute.GUARDS) == set(Guard)
    assert set(execute.FINDERS) == set(Lookup)
    source = Path(execute.__file__).read_text()
    assert "isinstance" not in source


@pytest.mark.parametrize(
    "action", [a for a in EVERY_ACTION if a.guard in READS_TAGS], ids=lambda a: a.key
)
def test_guarded_action_names_its_owner_and_how_to_find_it(action: Action) -> None:
    """The owner check compares with `required_uid()`; the lookup's request is valid for
    the read it names (the kind's Describe, DescribeScalableTargets, DescribeAlarms, or
    the tags by the action's own ARN)."""
    uid = action.required_uid()
    assert uid and uid.strip(), uid
    request = action.lookup_request()
    if action.lookup is Lookup.ARN:
        service, operation = SESSION.get_service_model(action.kind.service), "ListTags"
        assert request == {"ResourceArn": request["ResourceArn"]}
        assert request["ResourceArn"] in action.request().values()
    elif action.lookup is Lookup.DESCRIBE:
        service, operation = SESSION.get_service_model(action.kind.service), action.kind.describe
        assert request == {action.kind.name_member: action.name}
    else:
        service = SESSION.get_service_model(
            {Lookup.ALARM: "cloudwatch", Lookup.SCALABLE_TARGET: "application-autoscaling"}[
                action.lookup
            ]
        )
        operation = action.lookup.value
        if action.lookup is Lookup.ALARM:
            assert request == {"AlarmNames": [action.name]}
        else:  # the target the call acts on: its ResourceId, else the one the action names
            assert request["ResourceIds"] == [action.request().get("ResourceId", action.name)]
    shape = service.operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("action", EVERY_ACTION, ids=lambda a: f"{a.key}-{a.effect}")
def test_request_is_valid_for_its_operation(action: Action) -> None:
    service = SESSION.get_service_model(action.kind.service)
    shape = service.operation_model(action.operation).input_shape
    report = ParamValidator().validate(action.request(), shape)
    assert not report.has_errors(), report.generate_report()
    if isinstance(action, actions.DeleteAlarm):
        assert action.request()["AlarmNames"] == [action.name]
    elif isinstance(action, TAGGING):
        assert action.arn in action.request().values()
    elif action.kind.service == "application-autoscaling":
        assert action.name in str(action.request())
    else:
        assert action.request()[action.kind.name_member] == action.name


def test_alarm_writes_carry_the_ownership_tags() -> None:
    """PutMetricAlarm creates or overwrites: both carry the tags an IAM policy can require."""
    for action in EVERY_ACTION:
        if action.operation == "PutMetricAlarm":
            assert {"Key": "llmoperator.io/uid", "Value": "uid-1"} in action.request()["Tags"]


@pytest.mark.parametrize(
    "action",
    [a for a in EVERY_ACTION if a.kind.service != "cloudwatch"],
    ids=lambda a: f"{a.key}-{a.effect}",
)
def test_operation_matches_kind_and_effect(action: Action) -> None:
    if isinstance(action, actions.RemoveTags):  # gives back an unfinished adoption, by ARN
        assert action.effect is Effect.UPDATE and action.request()["TagKeys"]
        return
    if isinstance(action, TAGGING):  # tags what Retain keeps, by ARN
        assert action.operation in ("AddTags", "TagResource")
        assert action.effect is Effect.UPDATE and "Tags" in action.request()
        return
    if action.kind.service != "sagemaker":
        # Upserts (Register, Put) create carrying tags; deletes are Delete or Deregister.
        assert action.operation.startswith(
            {Effect.CREATE: ("Register", "Put"), Effect.UPDATE: ("Put",)}.get(
                action.effect, ("Delete", "Deregister")
            )
        )
        assert ("Tags" in action.request()) is (action.effect is Effect.CREATE)
        return
    verb = {Effect.CREATE: "Create", Effect.UPDATE: "Update", Effect.DELETE: "Delete"}
    assert action.operation.startswith(verb[action.effect] + action.kind.describe[8:])
    creates_tagged = action.effect is Effect.CREATE
    assert ("Tags" in action.request()) is creates_tagged


@pytest.mark.parametrize("kind", [k for k in Kind if k.service == "sagemaker"])
def test_kind_names_sagemakers_members(kind: Kind) -> None:
    operation = SAGEMAKER.operation_model(kind.describe)
    assert kind.name_member in operation.input_shape.members
    assert kind.arn_member in operation.output_shape.members
    if kind.status_member:
        assert kind.status_member in operation.output_shape.members


def test_the_token_stays_out_of_repr_and_fingerprint() -> None:
    def create(token: str) -> actions.CreateModel:
        spec = {"PrimaryContainer": {"Image": "i", "Environment": {"HF_TOKEN": token}}}
        return actions.CreateModel(name="ep-m1", spec=spec, tags=TAGS)

    assert "hf_secret" in str(create("hf_secret").request())
    assert "hf_secret" not in repr(create("hf_secret"))
    # The name carries the content hash (with a salted token digest): the fingerprint
    # needs nothing more, so the token never reaches status, even hashed.
    assert create("hf_secret").fingerprint() == create("another").fingerprint()


@pytest.mark.parametrize("action", EVERY_ACTION, ids=lambda a: f"{a.key}-{a.effect}")
def test_plan_simulates_and_shows_every_action(action: Action) -> None:
    """`plan` runs the planner on what each call leaves behind (`Action.settle`) and
    lists the call (`plan.action_row`): neither may fail for any action the operator
    can send (a missing one was a traceback in `plan -f`)."""
    owner = DESIRED.owner
    before = planner_factory.running(DESIRED)
    after = action.settle(before, owner)
    assert isinstance(after, ObservedState)
    operation, kind, name, _ = plan.action_row(action)
    assert (operation, kind, name) == (action.operation, str(action.kind), action.name)
    assert action.settle(after, owner) == after  # settled is settled: nothing moves again


def test_audit_knows_every_kind_an_action_writes() -> None:
    """What the operator can create, audit can find when its LLMEndpoint is gone; scaling
    policies through their target (they carry no tags; deregistering it deletes them)."""
    audited = {k.of for k in audit.KINDS}
    written = {a.kind for a in EVERY_ACTION}
    assert written - audited == {Kind.SCALING_POLICY}
