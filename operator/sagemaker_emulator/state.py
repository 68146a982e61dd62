"""All resources, guarded by one lock, and the clock that moves asynchronous transitions.

Transitions are due at an absolute time and are applied lazily by whoever
touches the store next (a request, a wait, a settle), so no background thread
races the requests and a state file keeps pending work across restarts.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .faults import Faults
from .wire import Caller

Record = dict[str, Any]
KINDS = ("models", "endpoint_configs", "endpoints", "inference_components")
ARN_KIND = {
    "models": "model",
    "endpoint_configs": "endpoint-config",
    "endpoints": "endpoint",
    "inference_components": "inference-component",
}


@dataclass
class Region:
    """One account in one region: a namespace of its own, as in AWS."""

    models: dict[str, Record] = field(default_factory=dict)
    endpoint_configs: dict[str, Record] = field(default_factory=dict)
    endpoints: dict[str, Record] = field(default_factory=dict)
    inference_components: dict[str, Record] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # by lowercased ARN

    def table(self, kind: str) -> dict[str, Record]:
        table: dict[str, Record] = getattr(self, kind)
        return table


def arn(caller: Caller, kind: str, name: str) -> str:
    """SageMaker ARNs carry the name lowercased."""
    return f"arn:aws:sagemaker:{caller.region}:{caller.account}:{ARN_KIND[kind]}/{name.lower()}"


def public(record: Record) -> Record:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# Called when a transition falls due: (store, caller, region, record, pending, now).
Completer = Callable[["Store", Caller, Region, Record, dict[str, Any], float], None]


class Store:
    def __init__(self, delay: float = 0.0, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.delay = delay
        self.initial_delay = delay
        self.state_file = state_file
        self.regions: dict[tuple[str, str], Region] = {}
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.errors = 0  # requests that hit a bug in the emulator (answered InternalFailure)
        self.completers: dict[str, Completer] = {}
        self._heap: list[tuple[float, int, str, str, str, str]] = []
        self._seq = itertools.count(1)
        self._dirty = False
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # -- namespaces -------------------------------------------------------------

    def region(self, caller: Caller) -> Region:
        key = (caller.account, caller.region)
        found = self.regions.get(key)
        if found is None:
            found = self.regions[key] = Region()
        return found

    def reset(self) -> None:
        with self.lock:
            self.regions.clear()
            self.calls.clear()
            self.errors = 0
            self.faults = Faults()
            self.delay = self.initial_delay
            self._heap.clear()
            self._dirty = True
            self.changed.notify_all()

    # -- transitions ------------------------------------------------------------

    def schedule(self, caller: Caller, kind: str, record: Record, op: str, **extra: Any) -> None:
        """Start a transition on `record`; it completes after the delay unless stuck."""
        stuck = bool(extra.pop("stuck", False))
        due = None if stuck else time.time() + self.delay
        seq = next(self._seq)
        record["_pending"] = {"op": op, "due": due, "seq": seq, **extra}
        if due is not None:
            heapq.heappush(
                self._heap,
                (due, seq, caller.account, caller.region, kind, self._name(kind, record)),
            )
        self.touch()

    def advance(self, now: float | None = None) -> int:
        """Apply every transition due by `now`; returns how many completed."""
        now = time.time() if now is None else now
        done = 0
        while self._heap and self._heap[0][0] <= now:
            _, seq, account, region_name, kind, name = heapq.heappop(self._heap)
            caller = Caller(account, region_name)
            region = self.regions.get((account, region_name))
            record = region.table(kind).get(name) if region else None
            if region is None or record is None:
                continue
            pending = record.get("_pending")
            if not pending or pending.get("seq") != seq:
                continue
            record.pop("_pending")
            self.completers[kind](self, caller, region, record, pending, now)
            done += 1
        if done:
            self.touch()
        return done

    def settle(self, once: bool = False) -> int:
        """Complete every pending, non-stuck transition now, and (unless `once`) what they start."""
        total = 0
        with self.lock:
            for _ in range(1 if once else 100):  # transitions may start others; bounded
                if not self._heap:
                    break
                # Pull every entry's due time to now, then apply them in their order.
                self._heap = [(0.0, *entry[1:]) for entry in self._heap]
                heapq.heapify(self._heap)
                total += self.advance(time.time())
        return total

    def wait(self, timeout: float) -> bool:
        """Block until nothing is transitioning (stuck resources aside); False on timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                self.advance()
                if not self._heap:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                until_due = max(0.0, self._heap[0][0] - time.time())
                self.changed.wait(min(remaining, until_due + 0.001))

    def release_stuck(self) -> None:
        for caller, kind, record in self.records():
            pending = record.get("_pending")
            if pending and pending["due"] is None:
                op = pending.pop("op")
                pending.pop("due")
                pending.pop("seq")
                self.schedule(caller, kind, record, op, **pending)

    def pending(self) -> list[dict[str, Any]]:
        out = []
        for caller, kind, record in self.records():
            pending = record.get("_pending")
            if pending:
                out.append(
                    {
                        "account": caller.account,
                        "region": caller.region,
                        "kind": kind,
                        "name": self._name(kind, record),
                        "op": pending["op"],
                        "stuck": pending["due"] is None,
                    }
                )
        return out

    def records(self) -> Iterator[tuple[Caller, str, Record]]:
        for (account, region_name), region in self.regions.items():
            for kind in KINDS:
                for record in list(region.table(kind).values()):
                    yield Caller(account, region_name), kind, record

    @staticmethod
    def _name(kind: str, record: Record) -> str:
        key = {
            "models": "ModelName",
            "endpoint_configs": "EndpointConfigName",
            "endpoints": "EndpointName",
            "inference_components": "InferenceComponentName",
        }[kind]
        name: str = record[key]
        return name

    # -- introspection and persistence -----------------------------------------

    def touch(self) -> None:
        self._dirty = True
        self.changed.notify_all()

    def dump(self) -> dict[str, Any]:
        """Everything, as JSON: {"accounts": {account: {region: {kind: {name: record}}}}}."""
        accounts: dict[str, Any] = {}
        for (account, region_name), region in self.regions.items():
            accounts.setdefault(account, {})[region_name] = {
                **{kind: dict(region.table(kind)) for kind in KINDS},
                "tags": region.tags,
            }
        return {"accounts": accounts, "delay": self.delay}

    def save_if_dirty(self) -> None:
        with self.lock:
            if self.state_file is None or not self._dirty:
                return
            text = json.dumps(self.dump())
            self._dirty = False
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.state_file)

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text() or "{}")
        for account, regions in data.get("accounts", {}).items():
            for region_name, tables in regions.items():
                caller = Caller(account, region_name)
                region = self.region(caller)
                for kind in KINDS:
                    region.table(kind).update(tables.get(kind, {}))
                region.tags.update(tables.get("tags", {}))
                for kind in KINDS:
                    for record in region.table(kind).values():
                        pending = record.get("_pending")
                        if pending and pending["due"] is not None:
                            seq = next(self._seq)
                            pending["seq"] = seq
                            heapq.heappush(
                                self._heap,
                                (
                                    pending["due"],
                                    seq,
                                    account,
                                    region_name,
                                    kind,
                                    self._name(kind, record),
                                ),
                            )
