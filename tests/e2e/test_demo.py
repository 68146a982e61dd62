"""`make demo` in its scripted form: an LLMEndpoint reaches Ready, then everything stops."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local_cluster.binaries import Binaries
from tests.plugins.cluster_fixtures import REPO

pytestmark = pytest.mark.e2e


def test_demo_reaches_ready_and_stops_everything(
    cluster_binaries: Binaries, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and not k.startswith("DEMO_")}
    env.update(
        XDG_CACHE_HOME=str(tmp_path),
        LLMOP_BIN_DIR=str(cluster_binaries.bin_dir),
        DEMO_EXIT_WHEN_READY="1",
        DEMO_DELAY="1",
        DEMO_TIMEOUT="120",
    )
    result = subprocess.run(
        [sys.executable, "-m", "local_cluster.demo"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    progress = [line for line in out.splitlines() if re.match(r"\s+\[\s*[\d.]+s\] phase=", line)]
    assert any("phase=Creating" in line for line in progress), out
    assert "phase=InService" in progress[-1] and "copies=4/4" in progress[-1]
    table = out[out.index("NAME") :].splitlines()
    assert table[0].split()[:5] == ["NAME", "MODEL", "INSTANCE", "COPIES", "STATUS"]
    assert table[1].split()[:5] == [
        "mistral-7b",
        "mistralai/Mistral-7B-Instruct-v0.1",
        "ml.g5.12xlarge",
        "4/4",
        "InService",
    ]
    # It ends by asking the model once, and says how.
    assert "  llm-operator invoke mistral-7b -n default --prompt 'What is Amazon SageMaker?'" in out
    answer = re.search(
        r"==> llm-operator invoke .*\n    (.+)\n    \((\S+) / (\S+): [\d.]+ s\)", out
    )
    assert answer, out
    assert len(answer.group(1).split()) == 24
    match = re.search(r"export KUBECONFIG=(\S+)", out)
    assert match and Path(match.group(1)).is_file()
    server = re.search(r"(https://127\.0\.0\.1:(\d+)) ready in", out)
    assert server
    # Exited once Ready: the control plane is gone with it.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(server.group(2))), timeout=2).close()
