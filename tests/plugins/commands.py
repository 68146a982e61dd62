"""Running the console scripts (`llm-operator`, `kubectl-llme`) as a person does: their
own process, kubeconfig and AWS environment pointed at the emulator."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from local_cluster.services import Emulator, console_script


def run(
    program: str,
    *args: str,
    emulator: Emulator,
    kubeconfig: Path,
    input: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG"))},
        **emulator.aws_env,
        "KUBECONFIG": str(kubeconfig),
        **(extra_env or {}),
    }
    return subprocess.run(
        [console_script(program), *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`llm-operator ARGS...`."""
    return run("llm-operator", *args, **kwargs)
