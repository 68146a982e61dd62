"""Unit tests are pure: no control plane, no emulator, no child process, no socket.

Two checks keep them so (`make unit` relies on it to run in seconds):
- at collection, a test under tests/unit that asks for a fixture of tests/plugins (each
  of them starts or talks to kube-apiserver, the emulator or the operator) is an error;
- while a unit test runs, starting a process or binding a socket fails it.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

UNIT = Path(__file__).parent
PLUGINS = "tests.plugins."


def _plugin_fixtures(item: pytest.Item) -> list[str]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return sorted(
        name
        for name, defs in info.name2fixturedefs.items()
        if any(getattr(d.func, "__module__", "").startswith(PLUGINS) for d in defs)
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Called with every collected item, not only this folder's: look at ours.
    offending = {
        item.nodeid: found
        for item in items
        if item.path.is_relative_to(UNIT) and (found := _plugin_fixtures(item))
    }
    if offending:
        lines = "\n".join(f"  {node}: {names}" for node, names in offending.items())
        raise pytest.UsageError(f"unit tests must not use the service fixtures:\n{lines}")


@pytest.fixture(autouse=True)
def _no_processes_or_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError(
            "a unit test started a process or bound a socket: move it to tests/integration "
            "or tests/e2e"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)
    yield
