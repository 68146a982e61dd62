"""What every action declares, and the helpers the action classes share.

An action class is the one home of its AWS call: every consumer (the executor,
the reconciler's execute loop, `plan`, `audit`, the IAM policy test) reads what
it needs from the declarations below and never asks which action it holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from llm_operator.core.desired import UID_TAG, Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedState


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as SageMaker and CloudWatch take them: a list of Key/Value pairs."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class Effect(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Guard(StrEnum):
    """What the shell does right before (and around) an action's call, so that it never
    writes to a resource whose tags name another owner (docs/design.md, Ownership).

    Every guard that reads tags compares the resource's uid tag with
    `Action.required_uid()` through one owner check; a mismatch is a `NameConflict`.
    """

    NONE = "none"
    """A plain call: an update by name of a resource the planner saw is ours."""

    DELETE = "delete"
    """A plain delete; a resource already gone (not found) is success."""

    CREATE = "create"
    """Create; when the name is taken, the existing resource (found by `lookup`) is
    success only when its tags name our uid (a crash between the Create and
    recording it), a conflict otherwise."""

    UPSERT = "upsert"
    """The call overwrites whatever holds the name: the existing resource (found by
    `lookup`), if any, must be ours before the call is sent."""

    ON_TARGET = "on target"
    """The call acts on whatever scalable target holds the ResourceId: that target
    (found by `lookup`) must exist and be ours right before; a delete whose target
    is gone is success."""

    TAGS = "tags"
    """Tagging by ARN: the resource's tags are read again by that ARN right before,
    and must name our uid; a resource already gone is success."""

    ALARM = "alarm"
    """A CloudWatch alarm (PutMetricAlarm overwrites, DeleteAlarms deletes whatever
    holds the name): the alarm is described and its tags read right before; a create
    may find it absent or ours, an update needs it present and ours, a delete of an
    absent alarm is success."""


class Lookup(StrEnum):
    """How the shell finds the ARN whose tags a guard reads (`Action.lookup_request()`
    is the request of that read)."""

    NONE = "none"
    """The guard reads no tags."""

    ARN = "arn"
    """The action names the ARN itself; the request is `{"ResourceArn": arn}`."""

    DESCRIBE = "describe"
    """The kind's Describe call on the name (`Kind.describe`, `name_member`,
    `arn_member`); not found means absent."""

    SCALABLE_TARGET = "DescribeScalableTargets"
    """DescribeScalableTargets of the ResourceId and dimension the action acts on."""

    ALARM = "DescribeAlarms"
    """DescribeAlarms of the alarm's name."""


class Notice(StrEnum):
    """What the shell's observer is told once the call succeeded, so that its caches
    (inventories, Describes, owners by ARN) never answer with what the call changed."""

    TOUCHED = "touched"
    """The resource changed: inventories and Describes taken before no longer count."""

    TAGGED = "tagged"
    """Only tags were added (`Action.tagging()`): the owner cached for that ARN is
    updated with them, and nothing needs reading again."""

    RETAGGED = "retagged"
    """Tags were removed (`Action.tagging()` names the ARN): the owner cached for it
    is forgotten."""


@dataclass(frozen=True)
class Pick:
    """A name found in another Describe answer: `kind`'s Describe of `name`, at `path`
    (e.g. the model an endpoint config's first variant serves)."""

    kind: Kind
    name: str
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class Read:
    """A Describe whose answer's `members` a change is compared with: `kind`'s Describe
    of `name`, or of the name a `Pick` finds."""

    kind: Kind
    name: str | Pick
    members: tuple[str, ...]


@dataclass(frozen=True)
class Baseline:
    """What `plan` shows an action's request against, as the "before" side of the change:
    `values` already observed, and the members of `read`'s answer. Empty: all is new.

    A `read` that lands on the resource the action itself creates compares with nothing:
    that is what is being made.
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    read: Read | None = None


@dataclass(frozen=True)
class Action:
    """Base of every action; subclasses are frozen dataclasses with a `name` field.

    A class that declares (itself or by inheritance) `operation`, `kind`, `effect` and
    `guard` is concrete: the registry (`core.actions.registry`) lists it.
    """

    operation: ClassVar[str]
    kind: ClassVar[Kind]
    effect: ClassVar[Effect]
    # Declared by every class that names an operation (tests/unit/test_actions.py).
    guard: ClassVar[Guard]
    lookup: ClassVar[Lookup] = Lookup.NONE
    notice: ClassVar[Notice] = Notice.TOUCHED
    # An update SageMaker rolls out (a new config or specification): the plan's memory,
    # which records it, is written to status before it is sent, so a crash while it is
    # in flight leaves it on record (docs/rollouts.md, Restarts).
    starts_rollout: ClassVar[bool] = False
    name: str

    def request(self) -> dict[str, Any]:
        """The boto3 keyword arguments of the call."""
        return {self.kind.name_member: self.name}

    def lookup_request(self) -> dict[str, Any]:
        """The request of the read `lookup` names (by default the kind's Describe by name)."""
        return {self.kind.name_member: self.name}

    def required_uid(self) -> str | None:
        """The uid the resource's `llmoperator.io/uid` tag must name for the guard to let
        the call through."""
        raise NotImplementedError(f"{type(self).__name__} declares no owner")

    def tagging(self) -> tuple[str, Mapping[str, str]]:
        """For a tagging call (`notice` TAGGED or RETAGGED): the ARN it acts on and the
        tags it adds (none when it removes some)."""
        raise NotImplementedError(f"{type(self).__name__} tags nothing")

    @property
    def key(self) -> str:
        """Which resource it acts on and how, e.g. `CreateEndpoint/my-endpoint`."""
        return f"{self.operation}/{self.name}"

    def fingerprint(self) -> str:
        """A short hash of everything the action sends, tags included."""
        return digest({"operation": self.operation, **_fields(self)})

    def describe(self) -> str:
        """For Events, logs and progress messages: `CreateEndpoint endpoint my-endpoint`."""
        return f"{self.operation} {self.kind} {self.name}"

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        """What AWS holds once this call succeeded and finished, for `plan`, which runs
        the planner pass after pass on it instead of sending the call."""
        raise NotImplementedError(f"{type(self).__name__} declares no settle()")

    def baseline(self, observed: ObservedState) -> Baseline:
        """What `plan` shows the request against (by default nothing: all of it is new)."""
        return Baseline()


@dataclass(frozen=True)
class Creation(Action):
    """Creates carry the ownership tags; the shell checks them on a name already taken."""

    effect: ClassVar[Effect] = Effect.CREATE
    tags: Mapping[str, str]

    def required_uid(self) -> str | None:
        return self.tags.get(UID_TAG)

    def _tagged(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return {**request, "Tags": tag_list(self.tags)}


def plain(value: Any) -> Any:
    """Mappings and tuples as dicts and lists: what botocore's validation accepts."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def digest(value: Any) -> str:
    """A short, stable hash of a JSON-able value (mappings, tuples and sets included)."""
    text = json.dumps(value, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fields(action: Action) -> dict[str, Any]:
    return {f.name: getattr(action, f.name) for f in fields(action)}


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
