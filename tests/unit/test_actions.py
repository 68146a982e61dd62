"""Each action class is the one home of its call, and the registry (`core.actions.ACTIONS`)
lists every one: for each, a sample built from its fields (tests/plugins/action_samples.py)
is what botocore's model of its API takes, `plan` can simulate and show it, and `audit`
knows its kind. tests/integration/test_every_action.py sends each to the emulator and moto.
"""

from __future__ import annotations

import re
from pathlib import Path

import botocore.session
import pytest
from botocore.model import StructureShape
from botocore.validate import ParamValidator

from llm_operator.api.models import RolloutSpec
from llm_operator.core import actions
from llm_operator.core.actions import ACTIONS, Action, Effect, Guard, Lookup, Notice, Pick
from llm_operator.core.actions.registry import FAMILIES, is_concrete
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedState
from llm_operator.core.rollout import owned_alarms
from llm_operator.shell import execute, reconciler
from llm_operator.shell.commands import audit, plan
from llm_operator.shell.secrets import Redactor
from tests.plugins.action_samples import World, lifecycle, present, sample
from tests.unit.planner_factory import make_desired

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

WORLD = World()
# One sample of every class in the registry, built from its fields' names.
SAMPLES: dict[type[Action], Action] = {cls: sample(cls, WORLD) for cls in ACTIONS}
# What AWS holds once every create and update of the samples finished, as `plan` sees it.
SIMULATED = ObservedState()
for _cls in lifecycle(ACTIONS):
    if _cls.effect is not Effect.DELETE:
        SIMULATED = SAMPLES[_cls].settle(SIMULATED, WORLD.want.owner)

# The shapes a sample leaves out: adapters, step scaling, Model endpoints, guarded rollouts.
VARIANTS: list[Action] = [
    actions.CreateInferenceComponent(
        name=ADAPTER.name,
        endpoint_name="ep",
        variant_name=None,
        specification=ADAPTER.specification,
        copies=None,
        tags=TAGS,
    ),
    actions.UpdateInferenceComponent(
        name=BASE.name,
        specification=BASE.specification,
        copies=None,
        deployment=WORLD.want.rollout.component_deployment if WORLD.want.rollout else None,
    ),
    actions.CreateAlarm(name=ERRORS.name, spec=ERRORS.request, tags=TAGS),
    actions.UpdateEndpoint(name="ep", config_name="ep-c2", retain_instance_count=True),
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
]
EVERY_ACTION: list[Action] = [*SAMPLES.values(), *VARIANTS]


def _declaring(cls: type[Action]) -> type[Action]:
    """The class that names the call (the AddTags subclasses differ only in their kind)."""
    return next(c for c in cls.__mro__ if "operation" in vars(c))


def _operation_classes() -> set[type[Action]]:
    return {_declaring(cls) for cls in ACTIONS}


def _subclasses(cls: type[Action]) -> list[type[Action]]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_the_registry_holds_every_action_class() -> None:
    """Every concrete subclass of Action is in the registry, each in its family's module,
    and `llm_operator.core.actions` exports it by name."""
    concrete = {c for c in _subclasses(Action) if is_concrete(c) and "tests" not in c.__module__}
    assert set(ACTIONS) == concrete
    assert {c.__module__ for c in ACTIONS} == {f.__name__ for f in FAMILIES}
    for cls in ACTIONS:
        assert getattr(actions, cls.__name__) is cls


# The guards that read the resource's tags right before the call, and so must find it.
READS_TAGS = set(Guard) - {Guard.NONE, Guard.DELETE}
# The service of each read a guard's lookup makes (a kind's Describe: the kind's own).
LOOKUP_SERVICE = {Lookup.ALARM: "cloudwatch", Lookup.SCALABLE_TARGET: "application-autoscaling"}


def _input(service: str, operation: str) -> StructureShape:
    return SESSION.get_service_model(service).operation_model(operation).input_shape


def _output(kind: Kind) -> StructureShape:
    return SESSION.get_service_model(kind.service).operation_model(kind.describe).output_shape


def _validate(request: dict[str, object], shape: StructureShape) -> None:
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


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


def test_no_consumer_asks_which_action_it_holds() -> None:
    """The reconciler's execute loop and `plan` read the declarations (`starts_rollout`,
    `notice`, `baseline`), never an action's type: a new class needs no branch there."""
    names = "|".join(
        {"Action", "Creation", "TAGGING", *(c.__name__ for c in ACTIONS)}
        | {c.__name__ for cls in ACTIONS for c in cls.__mro__ if c is not object}
    )
    asked = re.compile(rf"isinstance\([^)]*\b({names})\b")
    for module in (reconciler, plan, execute):
        source = Path(str(module.__file__)).read_text()
        assert not asked.search(source), (module.__name__, asked.search(source))


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
        service, operation = action.kind.service, "ListTags"
        assert request == {"ResourceArn": request["ResourceArn"]}
        assert request["ResourceArn"] in action.request().values()
    elif action.lookup is Lookup.DESCRIBE:
        service, operation = action.kind.service, action.kind.describe
        assert request == {action.kind.name_member: action.name}
    else:
        service, operation = LOOKUP_SERVICE[action.lookup], action.lookup.value
        if action.lookup is Lookup.ALARM:
            assert request == {"AlarmNames": [action.name]}
        else:  # the target the call acts on: its ResourceId, else the one the action names
            assert request["ResourceIds"] == [action.request().get("ResourceId", action.name)]
    _validate(request, _input(service, operation))


@pytest.mark.parametrize("action", EVERY_ACTION, ids=lambda a: f"{a.key}-{a.effect}")
def test_request_is_valid_for_its_operation(action: Action) -> None:
    _validate(action.request(), _input(action.kind.service, action.operation))
    request = action.request()
    if action.notice is not Notice.TOUCHED:  # tagging by ARN: the cache learns that ARN
        arn, tags = action.tagging()
        assert arn in request.values()
        listed = request.get("Tags", {})  # SageMaker and CloudWatch: a list; scaling: a map
        added = listed if isinstance(listed, dict) else {t["Key"]: t["Value"] for t in listed}
        assert added == dict(tags) if tags else request["TagKeys"]
    elif action.kind is Kind.ALARM:
        assert request.get("AlarmName", request.get("AlarmNames", [None])[0]) == action.name
    elif action.kind.service == "application-autoscaling":
        assert action.name in str(request)
    else:
        assert request[action.kind.name_member] == action.name


def test_alarm_writes_carry_the_ownership_tags() -> None:
    """PutMetricAlarm creates or overwrites: both carry the tags an IAM policy can require."""
    uid = {"Key": "llmoperator.io/uid", "Value": WORLD.want.owner.uid}
    writes = [a for a in SAMPLES.values() if a.operation == "PutMetricAlarm"]
    assert {a.effect for a in writes} == {Effect.CREATE, Effect.UPDATE}
    for action in writes:
        assert uid in action.request()["Tags"]


@pytest.mark.parametrize(
    "action",
    [a for a in EVERY_ACTION if a.kind.service != "cloudwatch"],
    ids=lambda a: f"{a.key}-{a.effect}",
)
def test_operation_matches_kind_and_effect(action: Action) -> None:
    if action.notice is Notice.RETAGGED:  # gives back an unfinished adoption, by ARN
        assert action.effect is Effect.UPDATE and action.request()["TagKeys"]
        return
    if action.notice is Notice.TAGGED:  # tags what Retain keeps, or re-tags, by ARN
        assert action.effect is Effect.UPDATE
        if action.operation == "DeleteTags":  # keys the spec no longer wants
            assert action.request()["TagKeys"]
            return
        assert action.operation in ("AddTags", "TagResource")
        assert "Tags" in action.request()
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


def test_exactly_the_updates_sagemaker_rolls_out_start_a_rollout() -> None:
    """The reconciler writes its memory to status before these (a crash in flight stays
    on record): exactly the endpoint's and the component's updates."""
    rolling = {cls.__name__ for cls in ACTIONS if cls.starts_rollout}
    assert rolling == {"UpdateEndpoint", "UpdateInferenceComponent"}


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


AUDITED = {k.of: k for k in audit.KINDS}


@pytest.mark.parametrize("cls", ACTIONS, ids=lambda c: c.__name__)
def test_every_action_class_is_valid_simulated_shown_and_audited(cls: type[Action]) -> None:
    """For each class of the registry, its sample: botocore's model of its API takes the
    request; `plan` simulates it (`settle`: a create leaves the resource, a delete takes
    it away, an update keeps it, and settled is settled), shows it (`plan.action_row`)
    against a baseline whose members the Describe it reads and the request both have;
    and `audit` finds what it leaves behind when its LLMEndpoint is gone (a scaling
    policy through its target: policies carry no tags, deregistering deletes them)."""
    action, owner = SAMPLES[cls], WORLD.want.owner
    _validate(action.request(), _input(cls.kind.service, cls.operation))

    before = ObservedState() if cls.effect is Effect.CREATE else SIMULATED
    after = action.settle(before, owner)
    assert present(after, cls.kind, action.name) is (cls.effect is not Effect.DELETE)
    assert present(before, cls.kind, action.name) is (cls.effect is not Effect.CREATE)
    assert action.settle(after, owner) == after

    operation, kind, name, fields = plan.action_row(action)
    assert (operation, kind, name) == (cls.operation, str(cls.kind), action.name)
    baseline = action.baseline(SIMULATED)
    sent = _input(cls.kind.service, cls.operation).members
    assert set(baseline.values) <= set(sent)
    plan.diff(baseline.values, fields, Redactor())
    if baseline.read is not None:
        assert set(baseline.read.members) <= set(_output(baseline.read.kind).members)
        assert set(baseline.read.members) <= set(sent)
        if isinstance(baseline.read.name, Pick):
            assert baseline.read.name.path[0] in _output(baseline.read.name.kind).members

    assert cls.kind in AUDITED or (
        cls.kind is Kind.SCALING_POLICY and Kind.SCALABLE_TARGET in AUDITED
    )


@pytest.mark.parametrize("kind", list(AUDITED), ids=str)
def test_audit_deletes_a_kind_as_the_operator_does(kind: Kind) -> None:
    """`audit --delete` sends the same call and request as the registry's delete of that kind."""
    (deleter,) = [c for c in ACTIONS if c.kind is kind and c.effect is Effect.DELETE]
    action = SAMPLES[deleter]
    found = audit.Resource(
        account="123456789012",
        region="us-east-1",
        kind=str(kind),
        name=action.name,
        arn=WORLD.arn(kind),
        uid=WORLD.want.owner.uid,
        owner="team-a/sample",
        status=None,
        dimension=WORLD.scaling.dimension if kind is Kind.SCALABLE_TARGET else None,
    )
    assert AUDITED[kind].delete_operation == action.operation
    assert AUDITED[kind].delete_request(found) == action.request()
