"""The guarded executor: runs one planned action, with its ownership guard right before.

Kept apart from the transport (`shell.aws`: clients, rate limits, lanes, error
classification) because it is about ownership, not about talking to AWS: every
write is preceded by the guard its action class declares (`core.actions.Guard`),
and every guard that reads tags goes through the one owner check below
(`_require_ours`), which refuses with a `NameConflict` unless the resource's uid
tag names this LLMEndpoint. Which guard runs, and how it finds the resource
whose tags it reads (`core.actions.Lookup`), is data on the action class: this
module dispatches through two tables and never asks which action it holds, so a
new call needs no change here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from llm_operator.core.actions import Action, Effect, Guard, Lookup
from llm_operator.core.desired import UID_TAG
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, CLOUDWATCH
from llm_operator.shell.aws import AwsError, SageMaker, Where
from llm_operator.shell.secrets import Redactor


@dataclass(frozen=True)
class ActionOutcome:
    """What one executed action did, for the Event and the log."""

    action: Action
    note: str = ""  # e.g. "already existed" for an idempotent create
    # The write's own answer (ARNs it made), empty when nothing was sent.
    answer: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        return self.action.describe() + (f" ({self.note})" if self.note else "")

    @property
    def made(self) -> bool:
        """A write that made or set the resource anew (a create that found nothing there,
        a policy put): it is what the request asked for."""
        return self.action.effect is not Effect.DELETE and not self.note and bool(self.answer)


async def execute(
    aws: SageMaker, where: Where, action: Action, redact: Redactor | None = None
) -> ActionOutcome:
    """Runs one planned action behind its declared guard; idempotent under a crash and
    restart."""
    sent = _ANSWER.set({})
    try:
        note = await GUARDS[action.guard](aws, where, action, redact or Redactor())
        return ActionOutcome(action, note, _ANSWER.get())
    finally:
        _ANSWER.reset(sent)


# The answer of the write an `execute` sent, set by `_send` in the same task.
_ANSWER: ContextVar[Mapping[str, Any]] = ContextVar("answer")


# -- finding the resource whose tags a guard reads -----------------------------------

Found = tuple[str, str] | None  # (ARN, service whose ListTags reads it), None: absent
Finder = Callable[[SageMaker, Where, Action], Awaitable[Found]]


async def _by_arn(aws: SageMaker, where: Where, action: Action) -> Found:
    """The ARN the action names (whether it still exists shows when its tags are read)."""
    return str(action.lookup_request()["ResourceArn"]), action.kind.service


async def _by_describe(aws: SageMaker, where: Where, action: Action) -> Found:
    """The kind's Describe call by name; not found is absent."""
    kind = action.kind
    try:
        found = await aws.call(where, kind.describe, action.lookup_request(), service=kind.service)
    except AwsError as error:
        if error.kind == "not_found":
            return None
        raise
    return str(found[kind.arn_member]), kind.service


async def _by_scalable_target(aws: SageMaker, where: Where, action: Action) -> Found:
    """The scalable target holding the ResourceId and dimension the action acts on."""
    found = await aws.call(
        where,
        Lookup.SCALABLE_TARGET.value,
        action.lookup_request(),
        service=APPLICATION_AUTOSCALING,
    )
    targets = found.get("ScalableTargets") or []
    if not targets:
        return None
    return str(targets[0]["ScalableTargetARN"]), APPLICATION_AUTOSCALING


async def _by_alarm(aws: SageMaker, where: Where, action: Action) -> Found:
    """The CloudWatch alarm of the action's name."""
    found = await aws.call(where, Lookup.ALARM.value, action.lookup_request(), service=CLOUDWATCH)
    alarms = found.get("MetricAlarms") or []
    if not alarms:
        return None
    return str(alarms[0]["AlarmArn"]), CLOUDWATCH


async def _nothing(aws: SageMaker, where: Where, action: Action) -> Found:
    raise TypeError(f"{type(action).__name__}: guard {action.guard} needs a lookup")


FINDERS: dict[Lookup, Finder] = {
    Lookup.NONE: _nothing,
    Lookup.ARN: _by_arn,
    Lookup.DESCRIBE: _by_describe,
    Lookup.SCALABLE_TARGET: _by_scalable_target,
    Lookup.ALARM: _by_alarm,
}


async def _find(aws: SageMaker, where: Where, action: Action) -> Found:
    return await FINDERS[action.lookup](aws, where, action)


# -- the one owner check ----------------------------------------------------------------


async def _require_ours(
    aws: SageMaker, where: Where, action: Action, found: tuple[str, str], subject: str
) -> None:
    """Reads the resource's tags right now (never from a cache) and refuses the action
    unless its uid tag names the action's owner. `subject` starts the message."""
    arn, service = found
    owner = (await aws.tags(where, arn, service=service)).get(UID_TAG)
    if owner != action.required_uid():
        raise AwsError(
            action.operation,
            "NameConflict",
            f"{subject} belongs to {'another LLMEndpoint' if owner else 'someone else'}",
            kind="conflict",
            retryable=False,
        )


# -- the guards -----------------------------------------------------------------------------


async def _send(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> None:
    _ANSWER.set(
        await aws.call(
            where, action.operation, action.request(), redact=redact, service=action.kind.service
        )
    )


async def _plain(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.NONE."""
    await _send(aws, where, action, redact)
    return ""


async def _delete(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.DELETE: one already gone is success."""
    try:
        await _send(aws, where, action, redact)
    except AwsError as error:
        if error.kind == "not_found":
            return "already gone"
        raise
    return ""


async def _create(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.CREATE: a name already taken is success only when the resource carries our
    uid; never anything else, whatever the resource is."""
    try:
        await _send(aws, where, action, redact)
    except AwsError as error:
        if error.kind != "exists":
            raise
        found = await _find(aws, where, action)
        if found is None:  # deleted in between: try again next pass
            raise AwsError(
                action.operation, error.code, error.message, kind="busy", retryable=True
            ) from None
        await _require_ours(aws, where, action, found, f"{action.name} already exists and")
        return "already existed"
    return ""


async def _upsert(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.UPSERT: the call overwrites what holds the name, so an existing one must be
    ours first (RegisterScalableTarget)."""
    found = await _find(aws, where, action)
    if found is not None:
        subject = f"{action.kind} {action.name} already exists and"
        await _require_ours(aws, where, action, found, subject)
    await _send(aws, where, action, redact)
    return "updated" if found is not None else ""


async def _on_target(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.ON_TARGET: deregisters a target, or puts or deletes a policy on it, only while
    the target's tags, read right before, name this LLMEndpoint.

    These calls act on whatever target holds the ResourceId (policies have no tags of
    their own), and the target may have been replaced since it was observed.
    """
    found = await _find(aws, where, action)
    deleting = action.effect is Effect.DELETE
    if found is None:
        if deleting:
            return "already gone"  # deregistering a target deletes its policies
        raise AwsError(
            action.operation,
            "ObjectNotFoundException",
            f"the scalable target of {action.kind} {action.name} no longer exists",
            kind="not_found",
            retryable=True,
        )
    await _require_ours(
        aws, where, action, found, f"the scalable target of {action.kind} {action.name}"
    )
    if deleting:
        return await _delete(aws, where, action, redact)
    return await _plain(aws, where, action, redact)


async def _tags(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.TAGS: tags (or untags) a resource by ARN only while its tags, read right
    before, name this LLMEndpoint: AddTags and DeleteTags act on whatever holds the ARN.
    One gone before or during the call needs no tags: that is success, as for a delete."""
    found = await _find(aws, where, action)
    assert found is not None  # a known ARN: absence shows when its tags are read
    try:
        await _require_ours(aws, where, action, found, f"{action.kind} {action.name}")
        return await _plain(aws, where, action, redact)
    except AwsError as error:
        if error.kind == "not_found":
            return "already gone"
        raise


async def _alarm(aws: SageMaker, where: Where, action: Action, redact: Redactor) -> str:
    """Guard.ALARM: writes an alarm only when its name is free (create) or ours (any write).

    PutMetricAlarm overwrites whatever holds the name and DeleteAlarms deletes it,
    so the ownership tags are read right before the call.
    """
    found = await _find(aws, where, action)
    if found is None and action.effect is Effect.DELETE:
        return "already gone"
    if found is None and action.effect is Effect.UPDATE:
        raise AwsError(
            action.operation,
            "ResourceNotFound",
            f"alarm {action.name} no longer exists",
            kind="not_found",
            retryable=True,
        )
    if found is not None:
        await _require_ours(aws, where, action, found, f"alarm {action.name} already exists and")
    await _send(aws, where, action, redact)
    return "already existed" if found is not None and action.effect is Effect.CREATE else ""


Run = Callable[[SageMaker, Where, Action, Redactor], Awaitable[str]]

GUARDS: dict[Guard, Run] = {
    Guard.NONE: _plain,
    Guard.DELETE: _delete,
    Guard.CREATE: _create,
    Guard.UPSERT: _upsert,
    Guard.ON_TARGET: _on_target,
    Guard.TAGS: _tags,
    Guard.ALARM: _alarm,
}
