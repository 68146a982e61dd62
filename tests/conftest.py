"""Fixtures shared by every test folder live in tests/plugins/."""

pytest_plugins = [
    "tests.plugins.emulator_fixtures",
    "tests.plugins.cluster_fixtures",
    "tests.plugins.operator_fixtures",
]
