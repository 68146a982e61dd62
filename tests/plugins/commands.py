"""Running the console scripts (`llm-operator`, `kubectl-llme`) as a person does: their
own process, kubeconfig and AWS environment pointed at the emulator."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from local_cluster import processes
from local_cluster.services import Emulator, console_script
from tests.plugins.forking import forkserver

TIMEOUT = 120.0


def run(
    program: str,
    *args: str,
    emulator: Emulator,
    kubeconfig: Path,
    input: str | None = None,
    extra_env: dict[str, str] | None = None,
    fork: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`program args...` in its own process; forked from the fork server (the same
    entry point, without its seconds of imports) unless `fork=False`."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG"))},
        **emulator.aws_env,
        "KUBECONFIG": str(kubeconfig),
        **(extra_env or {}),
    }
    if not fork:
        return subprocess.run(
            [console_script(program), *args],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        if input is not None:
            stdin.write(input.encode())
            stdin.seek(0)
        child = forkserver().spawn(
            program,
            args,
            env=env,
            stdin=stdin.fileno(),
            stdout=stdout.fileno(),
            stderr=stderr.fileno(),
        )
        try:
            code = child.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            processes.kill(child)
            raise
        finally:
            processes.stop(child)
        out, err = (_text(f) for f in (stdout, stderr))
    return subprocess.CompletedProcess([program, *args], code, out, err)


def _text(file: Any) -> str:
    """What subprocess.run(text=True) gives: decoded, universal newlines."""
    file.seek(0)
    return str(file.read().decode()).replace("\r\n", "\n").replace("\r", "\n")


def cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`llm-operator ARGS...`."""
    return run("llm-operator", *args, **kwargs)
