"""Child processes that cannot outlive their parent.

Each child gets its own process group (so a stop reaches anything it forked)
and, on Linux, PR_SET_PDEATHSIG so the kernel kills it when the Python process
dies without running any cleanup (SIGKILL, OOM). An atexit hook stops whatever
is still registered at a normal exit.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

_PR_SET_PDEATHSIG = 1


class Child(Protocol):
    """What `stop` needs of a child: a subprocess.Popen, or a fork server's child."""

    pid: int
    returncode: int | None
    stdout: IO[bytes] | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


_live: set[Child] = set()
_live_lock = threading.Lock()


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec_fn that asks the kernel to SIGKILL the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl: nobody would signal us.
        if os.getppid() != parent:
            os._exit(1)

    return hook


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[bytes] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start argv in its own process group, tied to this process's life.

    Output goes to `log` (appended) unless `stdout` is given (e.g. PIPE).
    """
    log_file: IO[bytes] | None = log.open("ab") if log is not None else None
    try:
        proc = subprocess.Popen(
            [os.fspath(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else (log_file or subprocess.DEVNULL),
            stderr=log_file or subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent_hook(),
        )
    finally:
        if log_file is not None:
            log_file.close()
    with _live_lock:
        _live.add(proc)
    return proc


def track(proc: Child) -> None:
    """Stop `proc` at exit too, as `spawn` does for its own children."""
    with _live_lock:
        _live.add(proc)


def stop(proc: Child, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int:
    """Signal the child's process group, wait, then SIGKILL it; return the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        # The leader is gone, but something it forked may still hold the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with _live_lock:
        _live.discard(proc)
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.wait()


def kill(proc: Child) -> int:
    """SIGKILL at once: what a crash or an OOM kill looks like to everyone else."""
    return stop(proc, timeout=10.0, sig=signal.SIGKILL)


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        stop(proc, timeout=5.0)
