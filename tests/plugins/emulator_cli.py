"""`sagemaker-emulator`, the console script, run as a child process by a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRIPT = str(Path(sys.executable).with_name("sagemaker-emulator"))


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """The emulator with `args`, and the lines it printed first (the listening URLs)."""
    process = subprocess.Popen(
        [SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert process.stdout is not None
    lines = [process.stdout.readline().rstrip("\n")]
    if "--with-moto" in args:
        lines.append(process.stdout.readline().rstrip("\n"))
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def url_of(line: str) -> str:
    prefix = "sagemaker-emulator listening on http://127.0.0.1:"
    assert line.startswith(prefix), line
    return line.rsplit(" ", 1)[1]


def stop(process: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> int:
    process.send_signal(how)
    return process.wait(timeout=30)
