"""Fixtures shared by every test folder live in tests/plugins/.

Every test that needs the local control plane (the `cluster` fixture, directly or
through another fixture) is marked `e2e` here, whatever folder it is in, so that
`-m "not e2e"` never starts kube-apiserver.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.plugins.emulator_fixtures",
    "tests.plugins.cluster_fixtures",
    "tests.plugins.operator_fixtures",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
