"""The observer: what SageMaker (and CloudWatch) hold for one LLMEndpoint, read through
the replica's shared cache by one reader per kind of resource."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from llm_operator.core import naming
from llm_operator.core.desired import DesiredState
from llm_operator.core.identity import Identity
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedScaling, ObservedState
from llm_operator.shell.aws import INTERACTIVE, Lane, SageMaker, Scope, Where
from llm_operator.shell.observe.alarms import read_rollback_alarms
from llm_operator.shell.observe.cache import Cache
from llm_operator.shell.observe.components import read_components
from llm_operator.shell.observe.endpoint import read_endpoint, read_immutables
from llm_operator.shell.observe.inventory import Inventory
from llm_operator.shell.observe.reading import Reading, owner_of
from llm_operator.shell.observe.scaling import read_scaling


@dataclass(frozen=True)
class Look:
    """How one pass looks at its LLMEndpoint (the default: a quick look as the operator).

    `ours`: names known to be this LLMEndpoint's (their tags are not read again).
    Older models and endpoint configs are found by the LLMEndpoint's name prefix, so
    they can be deleted.
    `full`: Describe everything (the slow resync, or a spec change).
    `max_age`: the oldest inventory this pass accepts (None: the observer's).
    `lane`: the lane of this pass's Describes and ListTags.
    `alarms`: names of rollback alarms to look up in CloudWatch (none: no call).
    `identity`: who to ask as (None: the operator's own credentials).
    `extra`: more names to look at (what an adoption tagged as ours); their tags are
    read like any other's.
    `scaling`: also look at the scalable target, policies and alarm although the
    desired state has no spec.autoscaling (it had, and something of it may remain).
    """

    ours: Collection[str] = frozenset()
    full: bool = False
    max_age: float | None = None
    lane: Lane = INTERACTIVE
    alarms: Collection[str] = frozenset()
    identity: Identity | None = None
    extra: Collection[str] = frozenset()
    scaling: bool = False

    def __post_init__(self) -> None:
        # Frozen copies: the caller's sets may change while the pass reads.
        for name in ("ours", "alarms", "extra"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))


class Observer:
    """Shared by every LLMEndpoint of the replica; all state is in the in-memory cache."""

    def __init__(
        self,
        sagemaker: SageMaker,
        *,
        max_age: float,
        describe_max_age: float,
        targets_max_age: float | None = None,
        sweep_max_age: float | None = None,
        search: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The region's scalable targets are listed again once per `targets_max_age` (the
        # resync interval: bounds changed by hand are caught like SageMaker drift);
        # their policies and alarms once per `describe_max_age`.
        self.cache = Cache(
            sagemaker,
            max_age=max_age,
            describe_max_age=describe_max_age,
            targets_max_age=describe_max_age if targets_max_age is None else targets_max_age,
            sweep_max_age=sweep_max_age,
            search=search,
            clock=clock,
        )

    async def inventory(self, where: Where, max_age: float | None = None) -> Inventory:
        """The scope's SageMaker inventory, refreshed when older than `max_age`."""
        return await self.cache.inventory(where, max_age)

    def touched(self, where: Where, kind: Kind, name: str) -> None:
        """Records that we changed a resource: older inventories and Describes no longer count."""
        self.cache.touched(where, kind, name)

    def made(
        self,
        where: Where,
        kind: Kind,
        name: str,
        request: Mapping[str, Any],
        answer: Mapping[str, Any],
        created: bool,
    ) -> None:
        """Records what a write of this process set anew and its answer (`created`: a
        create that found nothing there), so what it tells is not read back."""
        self.cache.made(where, kind, name, request, answer, created)

    def retagged(self, where: Where, arns: Collection[str]) -> None:
        """Forgets the owners read for these ARNs: their tags changed (an adoption)."""
        self.cache.retagged(where, arns)

    def tagged(self, where: Where, arn: str, tags: Mapping[str, str]) -> None:
        """Records tags we just added to a resource, so its owner is not read again."""
        self.cache.tagged(where, arn, tags)

    async def observe(self, desired: DesiredState, look: Look = Look()) -> ObservedState:
        """What SageMaker (and CloudWatch) hold for `desired`'s LLMEndpoint, as `look`
        says to look (the default: a quick look as the operator itself)."""
        place = Scope(desired.region, look.identity or Identity())
        ours = frozenset(look.ours)
        known = ours | frozenset(look.extra)  # its names besides the rendered ones
        inventory = await self.cache.inventory(place, look.max_age)
        reading = Reading(
            self.cache, place, inventory, owner_of(desired), ours, look.full, look.lane
        )
        # Inference components: desired ones, ones recorded as ours, and any on our endpoint;
        # read before the endpoint, whose Describe a change of their copies makes stale.
        owner = desired.owner
        components = await read_components(
            reading,
            desired.endpoint_name,
            [c.name for c in desired.components],
            known,
            naming.owner_hash(owner.namespace, owner.name, owner.cluster)
            if desired.host is not None
            else None,
        )
        endpoint = await read_endpoint(reading, desired.endpoint_name)
        former = None
        if desired.host is not None:
            # Moved onto a pool: the endpoint it had (and what stands on it) until deleted.
            former = await read_endpoint(
                reading, naming.endpoint_name(owner.namespace, owner.name, owner.cluster)
            )
            if former is not None:
                components = {
                    **await read_components(
                        reading,
                        former.name,
                        (),
                        known,
                        naming.owner_hash(owner.namespace, owner.name, owner.cluster),
                    ),
                    **components,
                }
        # Models and configs are found by the derived prefix, which is the endpoint's
        # name unless the endpoint was adopted.
        prefix = naming.immutable_prefix(Kind.MODEL, desired.model.name) or desired.endpoint_name
        models = await read_immutables(
            reading,
            Kind.MODEL,
            {desired.model.name} | known,
            inventory.models_of.get(prefix, set()),
            desired.owner.uid,
        )
        configs = await read_immutables(
            reading,
            Kind.ENDPOINT_CONFIG,
            {desired.endpoint_config.name} | known,
            inventory.configs_of.get(prefix, set()),
            desired.owner.uid,
        )
        scaling = ObservedScaling()
        if look.scaling or desired.scaling is not None:
            max_age = self.cache.max_age if look.max_age is None else look.max_age
            scaling = await read_scaling(reading, desired, endpoint, components, max_age)
        return ObservedState(
            endpoint=endpoint,
            components=components,
            models=models,
            endpoint_configs=configs,
            alarms=await read_rollback_alarms(reading, look.alarms),
            scaling=scaling,
            former=former,
        )
