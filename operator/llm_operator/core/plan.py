"""What one planning pass decides: the calls, the phase, the conditions and the Events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from llm_operator.api.models import Phase
from llm_operator.core.actions import Action
from llm_operator.core.memory import PlanMemory
from llm_operator.core.rollout import RolloutReport

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class Problem:
    """Something that stops convergence until a person acts: Degraded, one Warning."""

    reason: str
    message: str
    event_key: str  # one Event per distinct key while the problem lasts


@dataclass(frozen=True)
class ConditionInput:
    """One standard condition as the planner sees it; status.py adds times and generation."""

    status: bool
    reason: str
    message: str


@dataclass(frozen=True)
class PlanEvent:
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True, repr=False)
class Plan:
    # Ordered: execute front to back, stop at the first error.
    actions: tuple[Action, ...]
    phase: Phase
    # Nothing to do and nothing transitioning: the shell may poll slowly.
    settled: bool
    # Deletion finished: the shell may remove the finalizer.
    done_deleting: bool
    failure_reason: str | None
    ready: ConditionInput
    progressing: ConditionInput
    degraded: ConditionInput
    events: tuple[PlanEvent, ...]
    # To store in status once the actions succeeded (see PlanMemory).
    memory: PlanMemory
    # The guarded rollout this pass found; None: status keeps what it last said.
    rollout: RolloutReport | None = None

    def __repr__(self) -> str:
        # Actions are named, never printed whole: a CreateModel request holds the token.
        keys = ", ".join(a.key for a in self.actions)
        return (
            f"Plan(phase={self.phase}, actions=[{keys}], settled={self.settled}, "
            f"done_deleting={self.done_deleting}, failure_reason={self.failure_reason!r})"
        )


def degraded_condition(problems: Sequence[Problem]) -> ConditionInput:
    if not problems:
        return ConditionInput(False, "AsExpected", "No failures")
    return ConditionInput(True, problems[0].reason, failure_reason(problems) or "")


def failure_reason(problems: Sequence[Problem]) -> str | None:
    return "; ".join(p.message for p in problems) or None
