"""The fork server the tests start the operator and the commands from (see
local_cluster.forkserver): one per test process, started at its first use, so a
run of tests/unit never starts it.

Most tests start `llm-operator run` or a command because they need the program
running, not to test how an interpreter starts; those forks spare seconds of CPU
each. Where the process start is the subject (the chart's runtime, the demo, the
kubectl plugin) and in one test per command, the tests run the console script itself.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

from local_cluster.forkserver import ForkServer

# What `llm-operator run|plan|invoke|audit` import, so no fork imports them again (the
# Kubernetes client imports each API's module, and its models, on first use).
PRELOAD = (
    "kopf",
    "kubernetes.client.api.core_v1_api",
    "kubernetes.client.api.custom_objects_api",
    "llm_operator.cli",
    "llm_operator.shell.handlers",
    "llm_operator.shell.commands.audit",
    "llm_operator.shell.commands.invoke",
    "llm_operator.shell.commands.plan",
)

_server: ForkServer | None = None
_lock = threading.Lock()


def forkserver() -> ForkServer:
    """This process's fork server, started (or started again) when needed."""
    global _server
    with _lock:
        if _server is None or not _server.alive:
            directory = Path(tempfile.mkdtemp(prefix=f"forkserver-{os.getpid()}-"))
            _server = ForkServer(directory, PRELOAD)
            atexit.register(_remove, _server, directory)
        return _server


def _remove(server: ForkServer, directory: Path) -> None:
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)
