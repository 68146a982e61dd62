"""Fixtures shared by every test folder live in tests/plugins/."""

import importlib.util

# Temporary while the plugins are being written: register those that exist.
pytest_plugins = [
    name
    for name in (
        "tests.plugins.emulator_fixtures",
        "tests.plugins.cluster_fixtures",
        "tests.plugins.operator_fixtures",
    )
    if importlib.util.find_spec(name) is not None
]
