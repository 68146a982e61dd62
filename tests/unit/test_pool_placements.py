"""Admission onto a pool in the shell (`shell.pools.Placements`), with an in-memory store
of LLMEndpoints in place of the API server: racing admissions are serialized per pool,
so of several applied at once for the last room exactly those that fit are placed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import pools
from llm_operator.core.render import PoolFacts
from llm_operator.shell.pools import Placements

ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"
POOL = PoolFacts(
    "ml-platform",
    "shared-g5",
    "uid-pool",
    LLMEndpointPoolSpec.model_validate(
        {
            # One ml.g5.12xlarge: 4 GPUs.
            "instance": {"type": "ml.g5.12xlarge", "minCount": 1, "maxCount": 1},
            "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
            "allowedNamespaces": ["search"],
        }
    ),
)


def spec(copies: int) -> LLMEndpointSpec:
    return LLMEndpointSpec.model_validate(
        {
            "pool": {"name": "shared-g5", "namespace": "ml-platform"},
            "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
            "resources": {"copies": copies, "acceleratorsPerCopy": 1},
            "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
        }
    )


class Store:
    """LLMEndpoints as the API server holds them; every read and write yields, so
    concurrent admissions interleave as they would over the network."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def add(self, name: str) -> None:
        self.objects[name] = {
            "metadata": {"namespace": "search", "name": name, "uid": f"uid-{name}"},
            "spec": {"pool": {"name": "shared-g5", "namespace": "ml-platform"}},
            "status": {},
        }

    async def list_all(self) -> Sequence[Mapping[str, Any]]:
        await asyncio.sleep(0)
        return [dict(o) for o in self.objects.values()]

    def writer(self, name: str) -> Any:
        async def write(record: dict[str, Any]) -> bool:
            await asyncio.sleep(0)
            self.objects[name]["status"]["pool"] = record
            return True

        return write


async def admit(p: Placements, store: Store, name: str, copies: int, pool: PoolFacts = POOL) -> Any:
    return await p.admit(
        pool=pool,
        namespace="search",
        name=name,
        uid=f"uid-{name}",
        spec=spec(copies),
        status=store.objects[name]["status"],
        list_all=store.list_all,
        write=store.writer(name),
    )


def test_of_ten_racing_for_three_gpus_exactly_three_are_placed() -> None:
    async def scenario() -> None:
        store, p = Store(), Placements()
        store.add("first")
        assert (await admit(p, store, "first", 1)).admitted
        names = [f"r{i}" for i in range(10)]
        for n in names:
            store.add(n)
        answers = await asyncio.gather(*(admit(p, store, n, 1) for n in names))
        assert sum(a.admitted for a in answers) == 3
        assert {a.reason for a in answers if not a.admitted} == {pools.POOL_FULL}
        # Lowering a placed one's ceiling makes room and wakes who waits.
        placed = [n for n, a in zip(names, answers, strict=True) if a.admitted]
        await admit(p, store, "first", 1)  # unchanged: nothing to wake
        assert p.to_wake() == set()
        store.objects[placed[0]]["status"]["pool"]["copies"] = 1  # as admitted
        assert (await admit(p, store, placed[0], 0)).admitted
        woken = p.to_wake()
        assert woken and woken <= {f"uid-{n}" for n in names if n not in placed}

    asyncio.run(scenario())


def test_nothing_new_is_placed_on_a_pool_being_deleted() -> None:
    async def scenario() -> None:
        store, p = Store(), Placements()
        store.add("old")
        store.add("new")
        assert (await admit(p, store, "old", 1)).admitted
        going = replace(POOL, deleting=True)
        assert (await admit(p, store, "old", 1, going)).admitted  # placed: keeps running
        refused = await admit(p, store, "new", 1, going)
        assert refused.reason == pools.POOL_DELETING

    asyncio.run(scenario())
