"""LLMEndpointPolicies at reconcile: which govern a namespace, and each namespace's budget.

The policies and the namespaces' labels are read from the API server and kept
for `max_age` (a poll interval; a policy created, edited or deleted is also
noticed at once through `invalidate`, which the kopf handlers call), so a pass
costs no API call for them. The budget check is serialized per namespace: under
the namespace's lock the LLMEndpoints and LLMEndpointPools of the namespace are
listed, counted
(`core.policy.usage_of`) and, when the newcomer fits, its admission is written to
its status before the lock is released, so the next one's count includes it: ten
applied at once with room for six make six. A pool is admitted the same way, at its
ceiling (instance type x maxCount), under the same lock (`admit_pool`). Only one
operator replica reconciles
at a time (kopf peering), so an in-process lock is the serialization needed.

A burst does not list the namespace once per newcomer: the count taken under the
lock is kept for `max_age` and every admission written adds to it. Only this
process admits, so the kept count can only be too high (an LLMEndpoint deleted or
shrunk since), never too low: it admits nothing a fresh count would refuse, and
a refusal is always decided on a fresh count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from llm_operator.api import catalog
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import policy
from llm_operator.core.policy import Admission, Policy


class PolicySource(Protocol):
    """What governance reads from the API server."""

    async def list_policies(self) -> Sequence[Mapping[str, Any]]: ...

    async def namespace_labels(self, namespace: str) -> Mapping[str, str]: ...

    async def list_llmendpoints(self, namespace: str) -> Sequence[Mapping[str, Any]]: ...


class NoPolicies:
    """A cluster without the LLMEndpointPolicy kind: nothing governs anything."""

    async def list_policies(self) -> Sequence[Mapping[str, Any]]:
        return []

    async def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        return {}

    async def list_llmendpoints(self, namespace: str) -> Sequence[Mapping[str, Any]]:
        return []


WriteRecord = Callable[[dict[str, Any]], Awaitable[bool]]


class Governance:
    """The policies as the reconciler sees them, and the per-namespace budget locks."""

    def __init__(self, source: PolicySource, *, max_age: float) -> None:
        self.source = source
        self.max_age = max_age
        self._policies: tuple[Policy, ...] = ()
        self._read_at = float("-inf")
        self._labels: dict[str, tuple[float, Mapping[str, str]]] = {}
        self._refresh = asyncio.Lock()
        self._budget_locks: dict[str, asyncio.Lock] = {}
        # Per namespace: when it was counted, and what counts by LLMEndpoint name.
        self._counted: dict[str, tuple[float, dict[str, policy.Usage]]] = {}
        # LLMEndpoints refused for want of room, by namespace: woken when room is made.
        self.waiting: dict[str, set[str]] = {}
        # Each policy's metadata.generation last seen (a status write does not move it).
        self.generations: dict[str, Any] = {}

    def invalidate(self) -> None:
        """A policy changed: read them again at the next pass."""
        self._read_at = float("-inf")
        self._labels.clear()

    async def policies(self, *, fresh: bool = False) -> tuple[Policy, ...]:
        async with self._refresh:
            if fresh or time.monotonic() - self._read_at >= self.max_age:
                found = await self.source.list_policies()
                self._policies = tuple(policy.parse(obj) for obj in found)
                self._read_at = time.monotonic()
        return self._policies

    async def governing(self, namespace: str) -> tuple[Policy, ...]:
        """The policies governing `namespace` now (none read: none govern)."""
        policies = await self.policies()
        if not policies:
            return ()
        cached = self._labels.get(namespace)
        if cached is None or time.monotonic() - cached[0] >= self.max_age:
            labels = await self.source.namespace_labels(namespace)
            cached = self._labels[namespace] = (time.monotonic(), labels)
        return policy.governing(policies, cached[1])

    def _lock(self, namespace: str) -> asyncio.Lock:
        return self._budget_locks.setdefault(namespace, asyncio.Lock())

    async def _count(self, namespace: str, *, fresh: bool) -> tuple[bool, dict[str, policy.Usage]]:
        """What counts against the namespace's budgets, by name (under its lock), and
        whether it was read just now."""
        kept = self._counted.get(namespace)
        if not fresh and kept is not None and time.monotonic() - kept[0] < self.max_age:
            return False, kept[1]
        found = list(await self.source.list_llmendpoints(namespace))
        list_pools = getattr(self.source, "list_pools", None)
        if list_pools is not None:
            found += await list_pools(namespace)
        usages = {u.name: u for u in map(policy.usage_of, found) if u is not None}
        self._counted[namespace] = (time.monotonic(), usages)
        return True, usages

    async def admit(
        self,
        *,
        namespace: str,
        name: str,
        uid: str,
        spec: LLMEndpointSpec,
        policies: Sequence[Policy],
        status: Mapping[str, Any],
        write: WriteRecord,
    ) -> tuple[Admission | None, dict[str, Any]]:
        """The budget's answer for this LLMEndpoint and the record status.policy keeps.

        No answer (None) when no budget governs it. An LLMEndpoint already admitted at
        this ceiling or higher is not counted again; one running since before any
        budget governed it is admitted as it is (what runs keeps running); anything
        else is counted under the namespace's lock, and written before it is released.
        """
        ceiling, what = policy.endpoint_ceiling(spec, namespace)
        return await self._admit(
            namespace=namespace,
            key=name,
            uid=uid,
            ceiling=ceiling,
            what=what,
            endpoint=True,
            policies=policies,
            status=status,
            write=write,
        )

    async def admit_pool(
        self,
        *,
        namespace: str,
        name: str,
        uid: str,
        instance_type: str,
        max_count: int,
        policies: Sequence[Policy],
        status: Mapping[str, Any],
        write: WriteRecord,
    ) -> tuple[Admission | None, dict[str, Any]]:
        """The budget's answer for an LLMEndpointPool at its ceiling (instance type x
        maxCount), counted against its own namespace as an LLMEndpoint is (`admit`)."""
        return await self._admit(
            namespace=namespace,
            key=policy.pool_key(name),
            uid=uid,
            ceiling=policy.ceiling_cost(instance_type, max_count),
            what=f"LLMEndpointPool {name}: {instance_type} x {max_count}",
            endpoint=False,
            policies=policies,
            status=status,
            write=write,
        )

    async def _admit(
        self,
        *,
        namespace: str,
        key: str,
        uid: str,
        ceiling: Decimal | None,
        what: str,
        endpoint: bool,
        policies: Sequence[Policy],
        status: Mapping[str, Any],
        write: WriteRecord,
    ) -> tuple[Admission | None, dict[str, Any]]:
        record = dict(status.get("policy") or {})
        if not policy.budgets(policies):
            self.waiting.get(namespace, set()).discard(uid)
            return None, {}
        name = key
        fresh: dict[str, Any] = {
            "admitted": True,
            "ceilingCostPerHourUSD": catalog.format_usd(ceiling),
            "priceDate": catalog.load().as_of,
        }
        stands = policy.standing(status, ceiling)
        if stands == policy.ADMITTED:
            return Admission(None, tuple(record.get("budgetLeft") or ())), {**record, **fresh}
        if stands == policy.RUNNING:
            return Admission(None), fresh  # running before a budget governed it
        async with self._lock(namespace):
            read, counted = await self._count(namespace, fresh=False)
            while True:
                answer = policy.admit(
                    namespace=namespace,
                    name=name,
                    ceiling=ceiling,
                    what=what,
                    others=[u for n, u in counted.items() if n != name],
                    policies=policies,
                    endpoint=endpoint,
                )
                if answer.admitted or read:
                    break
                read, counted = await self._count(namespace, fresh=True)  # refuse on a fresh count
            if not answer.admitted:
                self.waiting.setdefault(namespace, set()).add(uid)
                return answer, record
            fresh["budgetLeft"] = list(answer.left)
            if not await write(fresh):
                self._counted.pop(namespace, None)
                return answer, record
            counted[name] = policy.Usage(name, ceiling, endpoint=endpoint)
        self.waiting.get(namespace, set()).discard(uid)
        return answer, fresh

    def room_made(self, namespace: str) -> set[str]:
        """The LLMEndpoints waiting for room in `namespace` (to wake)."""
        return set(self.waiting.get(namespace, ()))
