"""One LLMEndpoint's reading of the shared cache: what every per-kind reader needs."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llm_operator.core.desired import DesiredState
from llm_operator.core.kinds import SAGEMAKER, Kind
from llm_operator.shell.aws import Lane, Scope
from llm_operator.shell.observe.cache import Cache, TagOwner
from llm_operator.shell.observe.inventory import Inventory


@dataclass(frozen=True)
class Reading:
    """Where and as whom one pass reads, and what it already knows.

    `ours`: names this process created for the LLMEndpoint (their tags are not read).
    `full`: Describe everything (the slow resync, or a spec change).
    `lane`: the lane of the pass's Describes and ListTags.
    """

    cache: Cache
    place: Scope
    inventory: Inventory
    own: TagOwner  # this LLMEndpoint as the tags of what it creates name it
    ours: frozenset[str]
    full: bool
    lane: Lane

    async def owner(self, arn: str, created: Any, name: str, service: str = SAGEMAKER) -> TagOwner:
        """Who the tags of `name` (at `arn`, made at `created`) name."""
        return await self.cache.owner(
            self.place, arn, created, name in self.ours, self.own, self.lane, service=service
        )

    def describe(self, kind: Kind, name: str) -> Awaitable[Mapping[str, Any] | None]:
        """A SageMaker resource as Describe tells it (cached unless something says it
        changed), or None when neither the inventory nor SageMaker has it.

        Whether we changed it since the inventory is judged now, not when awaited.
        """
        inventory = self.inventory
        return self.cache.describe(
            self.place,
            kind,
            name,
            inventory.listed()[kind].get(name),
            stale=self.cache.stale(self.place, kind, name, inventory),
            full=self.full,
            listed_at=inventory.taken_at,
            lane=self.lane,
        )


def owner_of(desired: DesiredState) -> TagOwner:
    """This LLMEndpoint as the tags of what it creates name it."""
    owner = desired.owner
    return TagOwner(owner.uid, f"{owner.namespace}/{owner.name}", owner.cluster_id or None)


def epoch(value: Any) -> float | None:
    """A boto3 timestamp as epoch seconds (None when absent)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
