"""The Dockerfile recipe, checked without a Docker engine: hadolint, the shape of its
stages, and the wheel it builds installed into a fresh virtual environment from the
dependency lock, the way the runtime stage installs it.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from scripts import release

from local_cluster import processes
from local_cluster.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def context_mounts() -> dict[str, str]:
    """Build-context files that RUN instructions bind-mount (no `from=`): target -> source."""
    mounts = {}
    for keyword, rest in instructions():
        if keyword != "RUN":
            continue
        for options in re.findall(r"--mount=(\S+)", rest):
            fields = dict(field.split("=", 1) for field in options.split(","))
            if fields.get("type") == "bind" and "from" not in fields:
                mounts[fields["target"]] = fields["source"]
    return mounts


def runtime_lock() -> Path:
    """The lock the runtime stage installs its dependencies from."""
    _, runtime = stages()
    text = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    (target,) = re.findall(r"pip install [^&]*--require-hashes -r (\S+)", text)
    return REPO / context_mounts()[target]


def test_hadolint_is_clean() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_with_a_pinned_slim_python_base() -> None:
    (arg,) = [rest for keyword, rest in instructions() if rest.startswith("PYTHON_IMAGE=")]
    base = arg.split("=", 1)[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?", base), base
    builder, runtime = stages()
    assert builder[0][1] == "${PYTHON_IMAGE} AS builder"
    assert runtime[0][1].startswith("${PYTHON_IMAGE}")


def test_runtime_stage_has_no_build_tools_and_runs_as_a_fixed_non_root_user() -> None:
    _, runtime = stages()
    text = " ".join(rest for _, rest in runtime)
    for tool in ("apt-get", "gcc", "build-essential", "python -m build", "COPY . "):
        assert tool not in text
    assert "pip uninstall --yes pip" in text  # no installer left in the image
    (user,) = [rest for keyword, rest in runtime if keyword == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    assert runtime[-1] == ("ENTRYPOINT", '["llm-operator", "run"]')


def test_oci_labels() -> None:
    _, runtime = stages()
    labels = " ".join(rest for keyword, rest in runtime if keyword == "LABEL")
    for key in ("title", "description", "version", "revision", "created", "licenses", "source"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_runtime_stage_installs_the_runtime_lock_then_the_wheel_alone() -> None:
    assert runtime_lock() == REPO / "requirements" / "runtime.txt"
    _, runtime = stages()
    text = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    steps = [step.strip() for step in text.split("&&")]
    lock = next(i for i, step in enumerate(steps) if "--require-hashes -r" in step)
    wheel = next(i for i, step in enumerate(steps) if step.endswith("/wheels/*.whl"))
    assert lock < wheel
    assert "--no-deps" in steps[wheel]  # nothing outside the lock comes in with the wheel
    assert "pip check" in steps[wheel + 1 :]


def test_dockerignore_keeps_the_context_to_what_the_wheel_needs() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    builder, _ = stages()
    copied = [rest.split()[:-1] for keyword, rest in builder if keyword == "COPY"]
    copied.append(list(context_mounts().values()))
    for sources in copied:
        for source in sources:
            assert f"!{source}" in ignore, f"{source} is used but excluded from the context"


@pytest.fixture(scope="module")
def tree_crd() -> str:
    """`llm-operator crd` from the source tree, taken when the wheel's sources are copied."""
    return subprocess.run(
        [sys.executable, "-m", "llm_operator.cli", "crd"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout


def build_wheel(root: Path) -> Path:
    """The builder stage: its COPY sources alone in a build context, `python -m build --wheel`."""
    context = root / "src"
    context.mkdir()
    builder, _ = stages()
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for keyword, rest in builder:
        if keyword != "COPY":
            continue
        *sources, _ = rest.split()
        for source in sources:
            path = REPO / source.rstrip("/")
            if path.is_dir():
                shutil.copytree(path, context / path.name, ignore=ignored)
            else:
                shutil.copy2(path, context / path.name)
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist)],
        cwd=context,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, tree_crd: str) -> Path:
    """The builder stage's wheel, installed into a fresh virtual environment's bin/ as the
    runtime stage does it: the hash-checked lock, then the wheel without dependencies.

    The wheel is built while the lock installs (neither needs the other), and nothing is
    byte-compiled: the image's `--compile` saves its start-up time and installs nothing
    else, and compiling every dependency would double the time this takes."""
    root = tmp_path_factory.mktemp("image")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as builder:
        wheel = builder.submit(build_wheel, root)
        env_dir = root / "venv"
        venv.create(env_dir, with_pip=True)
        pip = [str(env_dir / "bin" / "pip"), "--disable-pip-version-check"]
        lock = ["--require-hashes", "-r", str(runtime_lock())]
        for command in (
            ["install", "--quiet", "--no-compile", *lock],
            ["install", "--quiet", "--no-compile", "--no-deps", str(wheel.result())],
            ["check"],
        ):
            result = subprocess.run(
                pip + command, capture_output=True, text=True, timeout=900, check=False
            )
            assert result.returncode == 0, (
                f"pip {' '.join(command)}: {result.stdout}{result.stderr}"
            )
    return env_dir / "bin"


def test_installed_environment_is_exactly_the_runtime_lock(installed: Path) -> None:
    listed = subprocess.run(
        [str(installed / "pip"), "--disable-pip-version-check", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got = {canonicalize_name(d["name"]): d["version"] for d in json.loads(listed)}
    for installer in ("pip", "setuptools", "wheel"):  # the runtime stage removes these
        got.pop(canonicalize_name(installer), None)
    pin = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)
    expected = {canonicalize_name(n): v for n, v in pin.findall(runtime_lock().read_text())}
    expected[canonicalize_name("sagemaker-llm-operator")] = release.version()
    assert got == expected


def test_installed_wheel_reports_its_version(installed: Path) -> None:
    result = subprocess.run(
        [str(installed / "llm-operator"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
    )
    assert result.stdout.strip() == f"llm-operator {release.version()}"


def test_installed_wheel_prints_the_crd(installed: Path, tree_crd: str) -> None:
    result = subprocess.run(
        [str(installed / "llm-operator"), "crd"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
    )
    crd = yaml.safe_load(result.stdout)
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "llmendpoints.llmoperator.io"
    assert result.stdout == tree_crd  # the wheel ships every module and data file


def test_installed_image_runs_the_emulator_with_moto(installed: Path, tmp_path: Path) -> None:
    """The image carries the emulator and moto too: the chart's emulator.enabled runs
    `sagemaker-emulator --with-moto` from it beside the operator."""
    log = tmp_path / "emulator.log"
    argv = [installed / "sagemaker-emulator", "--port", "0", "--with-moto", "--moto-port", "0"]
    proc = processes.spawn(argv, log=log, cwd=installed)
    try:

        def listening() -> bool:
            assert proc.poll() is None, log.read_text()
            return "moto listening on http://127.0.0.1:" in log.read_text()

        wait_for(listening, what="the image's emulator and moto to listen", timeout=120)
    finally:
        assert processes.stop(proc) == 0, log.read_text()
