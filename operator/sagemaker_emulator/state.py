"""All resources, guarded by one lock, and the clock that moves asynchronous transitions.

Every transition is due at an absolute time on the emulator's clock (wall-clock
seconds). Whoever touches the store next (a request, the admin API, the state
file's saver) first catches up on everything due by then, in due order, and
each transition is applied *as of its due time*: LastModifiedTime is the due
time, and a step it starts (the next copy of an inference component, a
rollback) is scheduled from that due time, never from the observer's. So the
result is exactly what a clock running on its own would have produced, with no
background thread racing the requests, and a state file keeps pending work
across restarts.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .caller import Caller
from .faults import Faults
from .load import LoadBook

Record = dict[str, Any]
CALL_LOG_LIMIT = 100_000  # the call log keeps this many records; older ones make way
KINDS = ("models", "endpoint_configs", "endpoints", "inference_components")
# The model registry: no transitions of their own, kept and tagged like the others.
REGISTRY_KINDS = ("model_package_groups", "model_packages")
TABLES = KINDS + REGISTRY_KINDS
ARN_KIND = {
    "models": "model",
    "endpoint_configs": "endpoint-config",
    "endpoints": "endpoint",
    "inference_components": "inference-component",
    "model_package_groups": "model-package-group",
    "model_packages": "model-package",
}
# The member each table's records carry their ARN in.
ARN_MEMBER = {
    "models": "ModelArn",
    "endpoint_configs": "EndpointConfigArn",
    "endpoints": "EndpointArn",
    "inference_components": "InferenceComponentArn",
    "model_package_groups": "ModelPackageGroupArn",
    "model_packages": "ModelPackageArn",
}


@dataclass
class Region:
    """One account in one region: a namespace of its own, as in AWS."""

    models: dict[str, Record] = field(default_factory=dict)
    endpoint_configs: dict[str, Record] = field(default_factory=dict)
    endpoints: dict[str, Record] = field(default_factory=dict)
    inference_components: dict[str, Record] = field(default_factory=dict)
    model_package_groups: dict[str, Record] = field(default_factory=dict)
    # Versioned packages under "GROUP/VERSION", unversioned ones under their name.
    model_packages: dict[str, Record] = field(default_factory=dict)
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


class Ticker(Protocol):
    """Something that acts at regular due times of its own (the autoscaler), caught up like
    transitions: `advance` interleaves its ticks with transitions in due order."""

    def next_due(self, now: float) -> float | None: ...  # the next tick due by `now`

    def run(self, at: float) -> None: ...  # one tick, as of its due time

    def reset(self, now: float) -> None: ...


class Store:
    def __init__(
        self, delay: float = 0.0, state_file: Path | None = None, token_time: float | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.delay = delay
        self.initial_delay = delay
        # Seconds between generated tokens; None: AWS's, scaled like every AWS duration.
        self.token_time = token_time
        self.initial_token_time = token_time
        # Seconds a serverless cold start takes; None: AWS's, scaled like every AWS duration.
        self.cold_start: float | None = None
        self.initial_cold_start: float | None = None
        self.state_file = state_file
        self.regions: dict[tuple[str, str], Region] = {}
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.errors = 0  # requests that hit a bug in the emulator (answered InternalFailure)
        self.call_log: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_LIMIT)
        self.calls_logged = 0  # ever, since the last reset: seq of the newest record
        self.completers: dict[str, Completer] = {}
        self.load = LoadBook()  # simulated traffic (load.py)
        self.ticker: Ticker | None = None  # the autoscaler, when moto runs beside
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

    def reset(self, delay: float | None = None) -> None:
        """Forget everything; `delay`: the start-up delay from now on (as if started with it)."""
        with self.lock:
            if delay is not None:
                self.initial_delay = max(0.0, delay)
            self.regions.clear()
            self.calls.clear()
            self.call_log.clear()
            self.calls_logged = 0
            self.errors = 0
            self.faults = Faults()
            self.delay = self.initial_delay
            self.token_time = self.initial_token_time
            self.cold_start = self.initial_cold_start
            self._heap.clear()
            self.load.clear()
            if self.ticker is not None:
                self.ticker.reset(time.time())
            self._dirty = True
            self.changed.notify_all()

    def log_call(self, entry: dict[str, Any]) -> None:
        """Append one API call's record (see audit.py); it gets the next seq."""
        with self.lock:
            self.calls_logged += 1
            self.call_log.append({"seq": self.calls_logged, **entry})

    def call_records(self, since: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            first = self.calls_logged - len(self.call_log) + 1  # seq of the oldest kept
            return list(itertools.islice(self.call_log, max(0, since + 1 - first), None))

    # -- transitions ------------------------------------------------------------

    def schedule(
        self,
        caller: Caller,
        kind: str,
        record: Record,
        op: str,
        *,
        start: float,
        after: float | None = None,
        **extra: Any,
    ) -> None:
        """Start a transition on `record` at time `start`; it falls due `delay` later unless stuck.

        `start` is the request's time for a transition a request starts, and the due time of
        the previous transition for one that a transition starts (copies, rollbacks). `after`
        replaces the delay for steps that last their own time (a deployment's bake).
        """
        stuck = bool(extra.pop("stuck", False))
        due = None if stuck else start + (self.delay if after is None else after)
        seq = next(self._seq)
        record["_pending"] = {"op": op, "due": due, "seq": seq, **extra}
        if due is not None:
            heapq.heappush(
                self._heap,
                (due, seq, caller.account, caller.region, kind, self._name(kind, record)),
            )
        self.touch()

    def advance(self, now: float | None = None, *, max_seq: int | None = None) -> int:
        """Apply every transition due by `now`, each as of its due time; returns how many.

        Transitions they start and that fall due by `now` too are applied in the same pass,
        in due order across all resources, interleaved with the ticker's ticks (each run as
        of its due time; ticks are not counted). With `max_seq`, stop at the first transition
        started after that one (settle's `once`).
        """
        now = time.time() if now is None else now
        done = 0
        while True:
            tick = self.ticker.next_due(now) if self.ticker is not None else None
            head = self._heap[0] if self._heap and self._heap[0][0] <= now else None
            if head is not None and max_seq is not None and head[1] > max_seq:
                head = None
            if head is None or (tick is not None and tick < head[0]):
                if tick is None or self.ticker is None:
                    break
                self.ticker.run(tick)
                continue
            due, seq, account, region_name, kind, name = heapq.heappop(self._heap)
            found = self._live(seq, account, region_name, kind, name)
            if found is None:
                continue
            region, record = found
            pending = record.pop("_pending")
            self.completers[kind](self, Caller(account, region_name), region, record, pending, due)
            done += 1
        if done:
            self.touch()
        return done

    def _live(
        self, seq: int, account: str, region_name: str, kind: str, name: str
    ) -> tuple[Region, Record] | None:
        """The region and record a heap entry still stands for, or None if it is stale."""
        region = self.regions.get((account, region_name))
        record = region.table(kind).get(name) if region else None
        if region is None or record is None:
            return None
        pending = record.get("_pending")
        if not pending or pending.get("seq") != seq:
            return None
        return region, record

    def settle(self, once: bool = False) -> int:
        """Complete every pending, non-stuck transition now, and (unless `once`) what they start.

        What fell due already is applied as of its due time first; everything still pending
        is then due now (the settle's time), and what that starts is scheduled from now.
        """
        with self.lock:
            now = time.time()
            total = self.advance(now)
            while self._heap:  # every round completes at least one transition
                last = self._pull_to(now)
                total += self.advance(now, max_seq=last if once else None)
                if once:
                    break
        return total

    def _pull_to(self, now: float) -> int:
        """Make every pending transition due at `now` (keeping their order); the last seq."""
        entries = []
        for entry in self._heap:
            _, seq, account, region_name, kind, name = entry
            found = self._live(seq, account, region_name, kind, name)
            if found is None:
                continue
            found[1]["_pending"]["due"] = now
            entries.append((now, *entry[1:]))
        heapq.heapify(entries)
        self._heap = entries
        return max((entry[1] for entry in entries), default=0)

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

    def release_stuck(self, now: float) -> None:
        """Stuck transitions start over at `now` and take the delay from there."""
        for caller, kind, record in self.records():
            pending = record.get("_pending")
            if pending and pending["due"] is None:
                op = pending.pop("op")
                pending.pop("due")
                pending.pop("seq")
                self.schedule(caller, kind, record, op, start=now, **pending)

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
                        "due": pending["due"],
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
                **{kind: dict(region.table(kind)) for kind in TABLES},
                "tags": region.tags,
            }
        return {"accounts": accounts, "delay": self.delay}

    def save_if_dirty(self) -> None:
        with self.lock:
            if self.state_file is None:
                return
            self.advance()  # the file shows what the clock says, not what was last observed
            if not self._dirty:
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
                for kind in TABLES:
                    region.table(kind).update(tables.get(kind, {}))
                region.tags.update(tables.get("tags", {}))
        # Pending transitions keep their due times and their order (seq breaks ties);
        # whatever fell due while the emulator was down is caught up on first touch.
        pendings = sorted(
            (
                (int(record["_pending"].get("seq") or 0), caller, kind, record)
                for caller, kind, record in self.records()
                if record.get("_pending")
            ),
            key=lambda item: item[0],
        )
        last = max((item[0] for item in pendings), default=0)
        self._seq = itertools.count(last + 1)
        for seq, caller, kind, record in pendings:
            pending = record["_pending"]
            if not seq:
                seq = pending["seq"] = next(self._seq)
            if pending["due"] is not None:
                heapq.heappush(
                    self._heap,
                    (
                        float(pending["due"]),
                        seq,
                        caller.account,
                        caller.region,
                        kind,
                        self._name(kind, record),
                    ),
                )
