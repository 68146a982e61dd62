"""The dependency locks must still match pyproject.toml.

requirements/dev.txt (what `make` installs) and requirements/runtime.txt (what the
Docker image installs) pin every package with its hashes for Python 3.11 on Linux
x86_64. When pyproject.toml gains a dependency or changes a specifier, these tests
fail until `make lock` is run and its result committed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
DEV_LOCK = ROOT / "requirements" / "dev.txt"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
STALE = "run `make lock` and commit requirements/"

# The one environment the locks are resolved for (see the Makefile's lock target).
TARGET = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


def project() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    table = data["project"]
    assert isinstance(table, dict)
    return table


def declared(extras: tuple[str, ...] = ()) -> list[Requirement]:
    """The project's dependencies plus those of `extras`, following self-references
    such as `sagemaker-llm-operator[emulator]` and dropping what does not apply to
    the target environment."""
    table = project()
    own = canonicalize_name(str(table["name"]))
    optional = table.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    found: list[Requirement] = []
    seen: set[str] = set()

    def visit(lines: list[str], extra: str) -> None:
        for line in lines:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({**TARGET, "extra": extra}):
                continue
            if canonicalize_name(requirement.name) == own:
                for nested in sorted(requirement.extras):
                    walk(nested)
            else:
                found.append(requirement)

    def walk(extra: str) -> None:
        if extra in seen:
            return
        seen.add(extra)
        assert extra in optional, f"pyproject.toml refers to an undefined extra [{extra}]"
        visit(optional[extra], extra)

    dependencies = table["dependencies"]
    assert isinstance(dependencies, list)
    visit(dependencies, "")
    for extra in extras:
        walk(extra)
    return found


def pins(lock: Path) -> dict[NormalizedName, Version]:
    """name -> pinned version; every entry must be an exact pin carrying hashes."""
    text = lock.read_text()
    result: dict[NormalizedName, Version] = {}
    for entry in re.split(r"\n(?=\S)", text):
        if not entry.strip() or entry.startswith("#"):
            continue
        match = PIN.match(entry)
        assert match, f"{lock.name}: not an exact pin: {entry.splitlines()[0]!r}"
        name = canonicalize_name(match["name"])
        assert name not in result, f"{lock.name}: {name} is pinned twice"
        assert "--hash=sha256:" in entry, f"{lock.name}: {name} has no hash"
        result[name] = Version(match["version"])
    return result


def check(lock: Path, requirements: list[Requirement]) -> None:
    locked = pins(lock)
    missing = sorted(r.name for r in requirements if canonicalize_name(r.name) not in locked)
    assert not missing, f"{lock.name} lacks {', '.join(missing)}: {STALE}"
    for requirement in requirements:
        version = locked[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {requirement.name}=={version}, outside pyproject.toml's "
            f"{requirement}: {STALE}"
        )


def test_runtime_lock_pins_every_runtime_and_emulator_dependency_within_its_specifier() -> None:
    check(RUNTIME_LOCK, declared(("emulator",)))


def test_dev_lock_pins_every_runtime_and_dev_dependency_within_its_specifier() -> None:
    check(DEV_LOCK, declared(("dev",)))


def test_runtime_lock_is_the_dev_lock_restricted_to_the_runtime_set() -> None:
    """The image runs exactly the versions the tests ran against."""
    dev, runtime = pins(DEV_LOCK), pins(RUNTIME_LOCK)
    differing = {
        name: (str(version), str(dev.get(name)))
        for name, version in runtime.items()
        if dev.get(name) != version
    }
    assert not differing, f"runtime.txt pins differ from dev.txt (runtime, dev): {differing}"
    assert len(runtime) < len(dev)  # the dev tools stay out of the image


@pytest.mark.parametrize("lock", [DEV_LOCK, RUNTIME_LOCK], ids=lambda path: path.name)
def test_lock_names_the_command_that_refreshes_it(lock: Path) -> None:
    assert "#    make lock" in lock.read_text().splitlines()[:5]
