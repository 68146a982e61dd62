"""A sample of every action class in the registry, built from the names of its fields.

`World` is one LLMEndpoint rendered by the operator's own `desired.render` (the
inference-component example, with autoscaling and an autoRollback alarm), plus the
ARNs of its resources: made up by default, the real ones once a test created them.
`sample(cls, world)` fills every field of `cls` that has no default from the world,
by the field's name (and the class's kind, where a name means something else per
kind), so a new action class gets its sample without a list kept by hand; one with
a field nobody has seen yet fails with that field named: add it to `_FIELDS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import desired
from llm_operator.core.actions import Action, Effect
from llm_operator.core.desired import RETAINED_TAG, DesiredState
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedState
from llm_operator.core.rollout import DesiredAlarm
from tests.plugins.emulator_fixtures import ACCOUNT, REGION
from tests.plugins.examples import llmendpoint

UID = "uid-sample"
RETAINED_AT = "2025-01-02T03:04:05Z"


def rendered() -> DesiredState:
    """The inference-component example with autoscaling and a latency rollback alarm.

    Its copies are the autoscaling minimum: with no load the emulator's autoscaler then
    never moves them, so no scaling activity makes the component busy between two of
    the calls sent one after another (a scale-in started by the clock, not by a call,
    would make the next update fail as "in-progress", as it would on AWS)."""
    spec = llmendpoint("mistral-7b-inference-components")["spec"]
    copies = int(spec["resources"]["copies"])
    spec = {
        **spec,
        "autoscaling": {"minReplicas": copies, "maxReplicas": copies + 2, "target": 4},
        "rollout": {"strategy": "Rolling", "autoRollback": {"maxP99LatencyMs": 900}},
    }
    owner = desired.Owner("team-a", "sample", UID)
    return desired.render(LLMEndpointSpec.model_validate(spec), owner, hf_token=None)


def _made_up_arn(kind: Kind, name: str) -> str:
    """An ARN as AWS forms it for `kind` (a test that created the resource uses its own)."""
    if kind is Kind.ALARM:
        return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
    if kind is Kind.SCALABLE_TARGET:
        return f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/0abc1234"
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind.value.replace(' ', '-')}/{name}"


@dataclass(frozen=True)
class World:
    want: DesiredState = field(default_factory=rendered)
    arns: Mapping[Kind, str] = field(default_factory=dict)

    @property
    def scaling(self) -> desired.DesiredScaling:
        assert self.want.scaling is not None
        return self.want.scaling

    @property
    def alarm(self) -> DesiredAlarm:
        assert self.want.rollout is not None
        return self.want.rollout.owned_alarms[0]

    @property
    def base(self) -> desired.DesiredComponent:
        return self.want.components[0]

    def name(self, kind: Kind) -> str:
        """The name an action on `kind` acts on (a scalable target's is its ResourceId)."""
        return {
            Kind.MODEL: self.want.model.name,
            Kind.ENDPOINT_CONFIG: self.want.endpoint_config.name,
            Kind.ENDPOINT: self.want.endpoint_name,
            Kind.INFERENCE_COMPONENT: self.base.name,
            Kind.ALARM: self.alarm.name,
            Kind.SCALABLE_TARGET: self.scaling.resource_id,
            Kind.SCALING_POLICY: self.scaling.policy_name,
        }[kind]

    def arn(self, kind: Kind) -> str:
        return self.arns.get(kind) or _made_up_arn(kind, self.name(kind))

    def with_arn(self, kind: Kind, arn: str) -> World:
        return dataclasses.replace(self, arns={**self.arns, kind: arn})


def _spec(cls: type[Action], world: World) -> Mapping[str, Any]:
    specs: dict[Kind, Mapping[str, Any]] = {
        Kind.MODEL: world.want.model.create_request,
        Kind.ENDPOINT_CONFIG: world.want.endpoint_config.create_request,
        Kind.ALARM: world.alarm.request,
    }
    return specs[cls.kind]


def _tags(cls: type[Action], world: World) -> Mapping[str, str]:
    """A create's ownership tags; what a tagging call adds (Retain's tag, with them)."""
    if cls.effect is Effect.CREATE:
        return world.want.tags
    return {**world.want.tags, RETAINED_TAG: RETAINED_AT}


_FIELDS: Mapping[str, Callable[[type[Action], World], Any]] = {
    "name": lambda cls, w: w.name(cls.kind),
    "arn": lambda cls, w: w.arn(cls.kind),
    "tags": _tags,
    "spec": _spec,
    "owner_uid": lambda cls, w: w.want.owner.uid,
    "keys": lambda cls, w: (RETAINED_TAG,),
    "config_name": lambda cls, w: w.want.endpoint_config.name,
    "endpoint_name": lambda cls, w: w.want.endpoint_name,
    "variant_name": lambda cls, w: w.want.endpoint_config.create_request["ProductionVariants"][0][
        "VariantName"
    ],
    "instances": lambda cls, w: w.want.endpoint_config.initial_instance_count,
    "specification": lambda cls, w: w.base.specification,
    "copies": lambda cls, w: w.base.copies,
    "resource_id": lambda cls, w: w.scaling.resource_id,
    "dimension": lambda cls, w: w.scaling.dimension,
    "min_capacity": lambda cls, w: w.scaling.min_capacity,
    "max_capacity": lambda cls, w: w.scaling.max_capacity,
    "policy_type": lambda cls, w: "TargetTrackingScaling",
    "configuration": lambda cls, w: w.scaling.target_tracking,
}


def sample(cls: type[Action], world: World) -> Action:
    """An instance of `cls` acting on the world's resource of its kind."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        assert f.name in _FIELDS, f"{cls.__name__}.{f.name}: add a sample value to _FIELDS"
        values[f.name] = _FIELDS[f.name](cls, world)
    return cls(**values)


_EFFECTS = (Effect.CREATE, Effect.UPDATE, Effect.DELETE)
_KINDS = tuple(Kind)


def lifecycle(classes: Iterable[type[Action]]) -> list[type[Action]]:
    """The classes in an order AWS accepts them in: creates (what others stand on
    first), then updates, then deletes (what stands on others first)."""

    def rank(cls: type[Action]) -> tuple[int, int]:
        kind = _KINDS.index(cls.kind)
        return _EFFECTS.index(cls.effect), -kind if cls.effect is Effect.DELETE else kind

    return sorted(classes, key=rank)


def present(state: ObservedState, kind: Kind, name: str) -> bool:
    """Whether the observed (or simulated) state holds the resource of that kind and name."""
    scaling = state.scaling
    return {
        Kind.MODEL: name in state.models,
        Kind.ENDPOINT_CONFIG: name in state.endpoint_configs,
        Kind.ENDPOINT: state.endpoint is not None and state.endpoint.name == name,
        Kind.INFERENCE_COMPONENT: name in state.components,
        Kind.ALARM: name in state.alarms
        or (scaling.alarm is not None and scaling.alarm.name == name),
        Kind.SCALABLE_TARGET: scaling.target is not None and scaling.target.resource_id == name,
        Kind.SCALING_POLICY: name in scaling.policies,
    }[kind]
