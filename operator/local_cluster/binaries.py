"""Where the pinned kube-apiserver, etcd and helm binaries live, building them if needed.

Beside them, under versioned names, the release tools: Helm 4, crane (an OCI registry
on loopback) and actionlint.

The build itself is tools/build-binaries.sh (Go module proxy, cached by version);
this module runs it so tests and the demo need no manual step.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Release tools: file name prefix -> the versions.env variable naming their version.
RELEASE_TOOLS = {"helm4": "HELM4_VERSION", "crane": "CRANE_VERSION"}
REQUIRED = ("kube-apiserver", "etcd", "helm")
ENV_BIN_DIR = "LLMOP_BIN_DIR"


class BinariesError(RuntimeError):
    """The control-plane binaries are missing and could not be built."""


@dataclass(frozen=True)
class Binaries:
    """Paths of the control-plane executables."""

    bin_dir: Path

    @property
    def kube_apiserver(self) -> Path:
        return self.bin_dir / "kube-apiserver"

    @property
    def etcd(self) -> Path:
        return self.bin_dir / "etcd"

    @property
    def helm(self) -> Path:
        return self.bin_dir / "helm"

    @property
    def helm4(self) -> Path:
        return self.tool("helm4")

    @property
    def crane(self) -> Path:
        return self.tool("crane")

    def tool(self, name: str) -> Path:
        """A binary by name; the release tools carry their version (helm4-v4.3.2)."""
        if name in RELEASE_TOOLS:
            return self.bin_dir / f"{name}-{versions()[RELEASE_TOOLS[name]]}"
        return self.bin_dir / name

    def missing(self, names: Sequence[str] = REQUIRED) -> list[str]:
        return [n for n in names if not os.access(self.tool(n), os.X_OK)]


def build_script() -> Path:
    """tools/build-binaries.sh of the source tree this package runs from."""
    return Path(__file__).resolve().parents[2] / "tools" / "build-binaries.sh"


@cache
def versions() -> dict[str, str]:
    """tools/versions.env: the pinned version of each binary."""
    text = (build_script().parent / "versions.env").read_text()
    lines = (line.strip() for line in text.splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def bin_dir() -> Path:
    """The cache directory for the pinned versions (without building anything)."""
    override = os.environ.get(ENV_BIN_DIR)
    if override:
        return Path(override)
    script = build_script()
    if not script.exists():
        raise BinariesError(f"{script} not found: set {ENV_BIN_DIR} to a directory with {REQUIRED}")
    out = subprocess.run(
        ["bash", str(script), "--print"], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def ensure(*, build: bool = True, tools: Sequence[str] = ()) -> Binaries:
    """Return the binaries, running tools/build-binaries.sh first for any that is missing:
    the control plane's, and `tools` (release tools such as "helm4" or "crane").

    The build's progress goes to stderr (it takes ~20 minutes cold, nothing warm).
    """
    wanted = (*REQUIRED, *tools)
    found = Binaries(bin_dir())
    missing = found.missing(wanted)
    if not missing:
        return found
    if not build or os.environ.get(ENV_BIN_DIR):
        raise BinariesError(f"missing in {found.bin_dir}: {', '.join(missing)}")
    result = subprocess.run(
        ["bash", str(build_script()), *missing], stdout=subprocess.PIPE, text=True
    )
    if result.returncode != 0:
        raise BinariesError(f"tools/build-binaries.sh failed with exit code {result.returncode}")
    built = Binaries(Path(result.stdout.strip().splitlines()[-1]))
    if built.missing(wanted):
        raise BinariesError(f"still missing in {built.bin_dir}: {', '.join(built.missing(wanted))}")
    return built
