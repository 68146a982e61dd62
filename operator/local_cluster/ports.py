"""Free loopback ports for child processes, never handed out twice at once.

Asking the kernel for port 0 and closing the socket leaves a window until the
program the port is meant for (etcd, kube-apiserver, the operator's probes) binds
it; meanwhile the kernel may give the same port to anyone else who asks. Tests run
in parallel workers (and other runs on the same machine) ask often, so every port
handed out is written, with the time, to a registry in the temp directory shared
by all processes, and nobody is given it again for RESERVE_SECONDS: long enough
for any of those programs to start and bind it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
import time
from pathlib import Path

RESERVE_SECONDS = 300.0
_REGISTRY = "local-cluster-ports.json"
_ATTEMPTS = 100


def _kernel_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read(path: Path, now: float) -> dict[int, float]:
    try:
        entries = json.loads(path.read_text())
        return {int(p): float(t) for p, t in entries.items() if now - float(t) < RESERVE_SECONDS}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}  # missing or damaged: start over, the kernel still knows what is bound


def free_port(directory: Path | None = None) -> int:
    """A loopback TCP port nobody listens on, reserved for this caller for a while."""
    registry = (directory or Path(tempfile.gettempdir())) / _REGISTRY
    try:
        lock = registry.with_suffix(".lock").open("a")
    except OSError:
        return _kernel_port()  # no shared registry (read-only temp dir): the kernel's word
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = time.time()
        taken = _read(registry, now)
        for _ in range(_ATTEMPTS):
            port = _kernel_port()
            if port not in taken:
                break
        taken[port] = now
        scratch = registry.with_name(f"{registry.name}.{os.getpid()}")
        try:
            scratch.write_text(json.dumps({str(p): t for p, t in taken.items()}))
            scratch.replace(registry)
        except OSError:
            pass  # unrecorded: as good as the kernel's word alone
        return port
