"""The project's console scripts started by forking a process that imported them once.

Starting `llm-operator` costs seconds of CPU before it does anything, almost all of it
importing kopf, the Kubernetes client, boto3 and pydantic; the tests start it hundreds
of times. A fork server imports the programs' modules once, then forks a child per
start: the child sets up what a fresh process would have (its environment, working
directory, standard streams, own session, argv) and calls the console script's
entry point, so it runs the same code as `llm-operator ...`, as its own process that
can be signalled and killed, in a fraction of the CPU.

What a fork cannot give is a fresh interpreter: a module that read the environment
when it was imported keeps the server's reading. The server starts with no AWS_*,
LLMOP_* or KUBECONFIG variables, and the one such reading these programs depend on
(the Kubernetes client's default kubeconfig) is redone in each child.

Protocol, over a Unix socket: the client sends one JSON line (`script`, `args`, `env`,
`cwd`) with the child's stdin, stdout and stderr descriptors attached; the server
answers `{"pid": N}` once forked and `{"returncode": R}` once the child is reaped (as
subprocess reports it: negative for a signal).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import ctypes.util
import functools
import importlib
import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import IO, Any

from local_cluster import processes

_PR_SET_PDEATHSIG = 1


_SCRIPTS: dict[str, EntryPoint] = {}  # read once by the server, before any fork


def _entry_point(script: str) -> Callable[[], Any]:
    found = _SCRIPTS.get(script)
    if found is None:
        (found,) = entry_points(group="console_scripts", name=script)
    function: Callable[[], Any] = found.load()
    return function


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """Found by the server once (find_library runs a program), used by every child."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name is not None else None


def _die_with(parent: int) -> None:
    libc = _libc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _stream(fd: int, mode: str, unbuffered: bool, like: Any) -> io.TextIOWrapper:
    """A standard stream on `fd` as a new interpreter would open it."""
    raw = io.FileIO(fd, mode, closefd=False)
    binary: Any = (
        raw
        if unbuffered and mode == "w"
        else (io.BufferedWriter(raw) if mode == "w" else io.BufferedReader(raw))
    )
    return io.TextIOWrapper(
        binary,
        encoding=like.encoding,
        errors=like.errors,
        line_buffering=mode == "w" and raw.isatty(),
        write_through=unbuffered,
    )


def _child(request: Mapping[str, Any], fds: Sequence[int], parent: int) -> int:
    """In the forked child: become the program's process, run its entry point."""
    os.setsid()
    _die_with(parent)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 4096)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        default = os.environ.get("KUBECONFIG", "~/.kube/config")
        setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", default)  # noqa: B010
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = _stream(0, "r", False, sys.__stdin__)
    sys.stdout = _stream(1, "w", unbuffered, sys.__stdout__)
    sys.stderr = _stream(2, "w", True, sys.__stderr__)
    sys.argv = [request["argv0"], *request["args"]]
    try:  # what a console script does: sys.exit(entry_point())
        code = _exit_code(_entry_point(request["script"])())
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # a failed flush at exit: what the interpreter reports
        code = code or 120
    return code


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve(path: Path, preload: Sequence[str]) -> None:
    """Import `preload`, then fork a child per request on the socket at `path`, forever."""
    for module in preload:
        importlib.import_module(module)
    _SCRIPTS.update({found.name: found for found in entry_points(group="console_scripts")})
    _libc()
    if threading.active_count() != 1:
        raise RuntimeError("a preloaded module started a thread: forking would be unsafe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    print("fork server ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                    request = json.loads(message)
                except (OSError, ValueError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        listener.close()
                        conn.close()
                        code = _child(request, fds, os.getppid())
                    finally:
                        os._exit(code)
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, conn)
                selector.register(pidfd, selectors.EVENT_READ)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            else:
                pidfd = int(key.fd)
                selector.unregister(pidfd)
                os.close(pidfd)
                pid, conn = children.pop(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"returncode": _returncode(status)}).encode() + b"\n")
                conn.close()


class ForkedProcess:
    """A child of the fork server, with the part of subprocess.Popen's interface the
    tests and `processes.stop` use."""

    def __init__(self, conn: socket.socket, pid: int, args: list[str]) -> None:
        self._conn = conn
        self._pending = b""
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self.stdout: IO[bytes] | None = None

    def _read(self, timeout: float | None) -> None:
        self._conn.settimeout(timeout)
        try:
            chunk = self._conn.recv(4096)
        except (TimeoutError, BlockingIOError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the server is gone: so is the child (it dies with the server)
            self.returncode = -signal.SIGKILL
            return
        self._pending += chunk
        if b"\n" in self._pending:
            self.returncode = int(json.loads(self._pending.split(b"\n")[0])["returncode"])

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            self._read(left)
        self._conn.close()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """A running fork server (a child of this process, see `processes`) for the console
    scripts of this environment, with `preload` imported."""

    def __init__(self, directory: Path, preload: Sequence[str], *, timeout: float = 120.0):
        self.socket_path = directory / "forkserver.sock"
        self.log = directory / "forkserver.log"
        directory.mkdir(parents=True, exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "LLMOP_", "KUBECONFIG"))
        }
        self._proc = processes.spawn(
            [sys.executable, "-m", "local_cluster.forkserver", str(self.socket_path), *preload],
            log=self.log,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while "fork server ready" not in self._log_text():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                processes.stop(self._proc)
                raise RuntimeError(f"the fork server did not start:\n{self._log_text()[-3000:]}")
            time.sleep(0.05)

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def spawn(
        self,
        script: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
        cwd: Path | None = None,
    ) -> ForkedProcess:
        """`script args...` (a console script's name) as a new process; the descriptors
        are duplicated into it, the caller still owns its own."""
        from local_cluster.services import console_script

        request = {
            "script": script,
            "argv0": console_script(script),
            "args": list(args),
            "env": dict(env),
            "cwd": str(cwd or Path.cwd()),
        }
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(self.socket_path))
        socket.send_fds(conn, [json.dumps(request).encode()], [stdin, stdout, stderr])
        answer = b""
        while b"\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                raise RuntimeError(f"the fork server did not start {script}:\n{self._log_text()}")
            answer += chunk
        line, _, rest = answer.partition(b"\n")
        child = ForkedProcess(conn, int(json.loads(line)["pid"]), [script, *args])
        child._pending = rest
        if b"\n" in rest:
            child.returncode = int(json.loads(rest.split(b"\n")[0])["returncode"])
        processes.track(child)
        return child

    def stop(self) -> None:
        processes.stop(self._proc)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("socket", type=Path)
    parser.add_argument("preload", nargs="*")
    args = parser.parse_args(argv)
    serve(args.socket, args.preload)


if __name__ == "__main__":
    main()
