"""Polling a condition until it holds: the one wait loop of the demo, services and tests.

Waiting on an observable condition (never on a guessed sleep) keeps the tests
fast when things go well and explains themselves when they do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.2


def wait_for(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = POLL_SECONDS,
    diagnose: Callable[[], str] | None = None,
    error: type[Exception] = AssertionError,
) -> T:
    """Poll `probe` until it returns something truthy and return that.

    At the deadline raise `error` (AssertionError, so a test fails as a test)
    naming `what`, with `diagnose()` or the probe's last value. Exceptions the
    probe raises (e.g. "the process exited") end the wait at once.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    detail = diagnose() if diagnose is not None else f"last value: {last!r}"
    raise error(f"timed out after {timeout:.0f} s waiting for {what}\n{detail}")
