"""Unit tests can start no process and no server (tests/unit/conftest.py): so `make unit`
and `pytest tests/unit` never start kube-apiserver, etcd, the emulator or the operator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from local_cluster.services import Emulator
from sagemaker_emulator.server import EmulatorServer


def test_a_child_process_is_refused() -> None:
    with pytest.raises(AssertionError, match="started a process"):
        subprocess.run(["true"], check=False)


def test_the_emulator_cannot_start_in_process_or_as_a_child(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="bound a socket"):
        EmulatorServer(host="127.0.0.1", port=0).start()
    with pytest.raises(AssertionError, match="started a process"):
        Emulator.start(tmp_path / "emulator.log")
