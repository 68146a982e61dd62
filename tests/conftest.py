"""Fixtures shared by every test folder live in tests/plugins/.

Every test that needs the local control plane (the `cluster` fixture, directly or
through another fixture) is marked `e2e` here, whatever folder it is in, so that
`-m "not e2e"` never starts kube-apiserver.

pyproject.toml runs pytest with `-n auto --dist loadfile` (pytest-xdist): most of
the time of the tests beyond tests/unit is waiting (on emulator transitions, the
operator's polls, process start-up), so WORKERS processes run whole files side by
side, each with its own control plane, emulators and operators (session fixtures
are per worker; every port is a fresh free one and every directory a temp one). A
run of tests/unit alone or of one file gains nothing from workers and runs in this
process.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
UNIT = TESTS / "unit"
WORKERS = 3  # on 2 cores: faster than 4 (README, "Development")
# Seconds each test file takes (setup included) on an idle 2-core machine; only their
# order matters. A file not listed counts its tests at its folder's usual pace.
DURATIONS = TESTS / "durations.json"
SECONDS_PER_TEST = {"e2e": 20.0, "chart": 2.0, "integration": 3.0, "emulator": 1.0}

pytest_plugins = [
    "tests.plugins.emulator_fixtures",
    "tests.plugins.cluster_fixtures",
    "tests.plugins.operator_fixtures",
]


def pytest_configure(config: pytest.Config) -> None:
    """With PYTHONDONTWRITEBYTECODE set, every operator, emulator and CLI process the tests
    start would compile the project's modules again (a third of a CPU second each, a few
    hundred times a run): their bytecode goes to a cache outside the source tree
    instead, shared by all of them. Set before xdist starts its workers, which inherit
    it. A cache prefix holds the bytecode of every module, the installed packages' too
    (3,000 modules, about 70 MB): kept from run to run beside the control-plane
    binaries, so that a run does not compile them all again (Python checks each entry
    against its source, so a changed module is compiled again)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.pop("PYTHONDONTWRITEBYTECODE")
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache / "sagemaker-llm-operator" / "pycache")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items[:] = longest_files_first(items)


def longest_files_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The tests, whole files at a time, the longest files first.

    xdist hands each worker the next file when it is nearly done with its last
    (`--dist loadfile`, in this order with `--no-loadscope-reorder`): long files first
    and short ones filling in at the end keeps any worker from running alone at the
    end, which on 2 cores leaves one idle (its own order, by number of tests, left the
    e2e files of one or two long tests for last)."""
    known: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    by_file: dict[str, list[pytest.Item]] = defaultdict(list)
    for item in items:
        by_file[item.nodeid.split("::")[0]].append(item)

    def seconds(path: str) -> float:
        if path in known:
            return known[path]
        folder = path.split("/")[1] if path.count("/") > 1 else ""
        return SECONDS_PER_TEST.get(folder, 0.01) * len(by_file[path])

    ordered = sorted(by_file, key=seconds, reverse=True)  # stable: ties keep their order
    return [item for path in ordered for item in by_file[path]]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """How many workers `-n auto` starts: none for tests/unit alone or for one file."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook takes the number from there
    here = config.invocation_params.dir
    targets = [(here / str(arg).split("::")[0]).resolve() for arg in config.args]
    if all(t.is_relative_to(UNIT) for t in targets):
        return 0
    if all(t.is_file() for t in targets):  # loadfile: a worker per file at most
        return min(len(targets), WORKERS) if len(targets) > 1 else 0
    return WORKERS
