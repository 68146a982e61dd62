"""Prometheus metrics of the operator.

The metrics live in a registry of their own (not prometheus-client's global
one) so that several operators in one test process cannot collide, and the
endpoint serves nothing but what the operator itself declares.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from llm_operator.api.models import Phase

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILES = Counter(
    "llmop_reconciles",
    "Reconcile passes of LLMEndpoints, by result (settled, progressing, degraded, error, "
    "superseded: a background re-check given up for a spec change).",
    ["result"],
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "llmop_reconcile_duration_seconds",
    "Duration of one reconcile pass (observe, plan, act, write status).",
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
AWS_CALLS = Counter(
    "llmop_aws_calls",
    "SageMaker API calls by operation and outcome (ok or the AWS error code).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
AWS_CALL_SECONDS = Histogram(
    "llmop_aws_call_duration_seconds",
    "Duration of SageMaker API calls including retries and rate-limit waits.",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
AWS_ACCOUNT_CALLS = Counter(
    "llmop_aws_account_calls",
    "AWS API calls by account (`self` for the operator's own identity, else the assumed "
    "role's account), region and outcome (ok or the AWS error code).",
    ["account", "region", "outcome"],
    registry=REGISTRY,
)
ENDPOINTS = Gauge(
    "llmop_endpoints",
    "LLMEndpoints handled by this replica, by status.phase.",
    ["phase"],
    registry=REGISTRY,
)

PHASES: tuple[str, ...] = get_args(Phase)


class PhaseBook:
    """Tracks each LLMEndpoint's phase so the gauge is a count, never a drift-prone sum.

    Counts change incrementally: a set costs the same with one or ten thousand
    LLMEndpoints.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phases: dict[str, str] = {}
        self._counts: dict[str, int] = dict.fromkeys(PHASES, 0)
        for phase in PHASES:
            ENDPOINTS.labels(phase=phase).set(0)

    def set(self, uid: str, phase: str) -> None:
        with self._lock:
            old = self._phases.get(uid)
            if old == phase:
                return
            self._phases[uid] = phase
            self._move(old, phase)

    def forget(self, uid: str) -> None:
        with self._lock:
            self._move(self._phases.pop(uid, None), None)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _move(self, old: str | None, new: str | None) -> None:
        for phase, step in ((old, -1), (new, 1)):
            if phase is not None:
                self._counts[phase] = self._counts.get(phase, 0) + step
                ENDPOINTS.labels(phase=phase).set(self._counts[phase])


PHASE_BOOK = PhaseBook()


def record_aws_call(
    operation: str, outcome: str, seconds: float, account: str = "self", region: str = ""
) -> None:
    AWS_CALLS.labels(operation=operation, outcome=outcome).inc()
    AWS_CALL_SECONDS.labels(operation=operation).observe(seconds)
    AWS_ACCOUNT_CALLS.labels(account=account, region=region, outcome=outcome).inc()


@contextmanager
def timed_reconcile() -> Iterator[None]:
    with RECONCILE_SECONDS.time():
        yield


def serve(port: int, addr: str = "0.0.0.0") -> None:
    """Serve /metrics on a background thread; port 0 disables it."""
    if port:
        start_http_server(port, addr=addr, registry=REGISTRY)
