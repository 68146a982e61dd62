"""local_cluster.forkserver: a fork runs a console script as its own process would,
so the tests that start the operator and the commands through it test the programs.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
from pathlib import Path

from local_cluster import processes
from local_cluster.waiting import wait_for
from tests.plugins.forking import forkserver

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: here
contexts: [{name: here, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
"""


def run(
    script: str, *args: str, env: dict[str, str], stdin: bytes = b"", cwd: Path | None = None
) -> tuple[int, str, str]:
    with (
        tempfile.TemporaryFile() as i,
        tempfile.TemporaryFile() as o,
        tempfile.TemporaryFile() as e,
    ):
        i.write(stdin)
        i.seek(0)
        child = forkserver().spawn(
            script, args, env=env, stdin=i.fileno(), stdout=o.fileno(), stderr=e.fileno(), cwd=cwd
        )
        code = child.wait(timeout=60)
        o.seek(0)
        e.seek(0)
        return code, o.read().decode(), e.read().decode()


def test_a_fork_exits_prints_and_reads_as_the_console_script(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"]}
    code, out, err = run("llm-operator", "--version", env=env)
    assert (code, err) == (0, "")
    assert re.fullmatch(r"llm-operator \S+\n", out)

    code, out, err = run("kubectl-llme", env=env)
    assert (code, out) == (2, "")
    assert err == "usage: kubectl llme {plan,invoke,audit} ...\n"

    # Its own environment (the KUBECONFIG the server read when it imported the
    # Kubernetes client is read again) and stdin: `plan -f -` with a kubeconfig that
    # is missing, then one that can be read.
    kubeconfig = tmp_path / "kubeconfig.yaml"
    plan = ("llm-operator", "plan", "-f", "-")
    code, _, err = run(*plan, env={**env, "KUBECONFIG": str(kubeconfig)}, stdin=b"{}")
    assert (code, err.split(":")[:2]) == (1, ["error", " no usable kubeconfig"]), err
    kubeconfig.write_text(KUBECONFIG)
    code, _, err = run(*plan, env={**env, "KUBECONFIG": str(kubeconfig)}, stdin=b"{}")
    assert (code, err) == (
        1,
        "error: - holds no LLMEndpoint or LLMEndpointPool (llmoperator.io/v1alpha1)\n",
    )


def test_a_fork_is_signalled_and_killed_as_its_own_process(tmp_path: Path) -> None:
    log = tmp_path / "emulator.log"
    args = ("--host", "127.0.0.1", "--port", "0")
    with log.open("ab") as out, open(os.devnull, "rb") as devnull:
        server = forkserver()
        child = server.spawn(
            "sagemaker-emulator",
            args,
            env={"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"},
            stdin=devnull.fileno(),
            stdout=out.fileno(),
            stderr=out.fileno(),
        )
        wait_for(lambda: "listening on" in log.read_text(), what="the emulator to listen")
        assert child.poll() is None
        assert os.getpgid(child.pid) == child.pid  # its own session and process group
        assert processes.stop(child) == 0  # SIGTERM: the emulator stops cleanly

        killed = server.spawn(
            "sagemaker-emulator",
            args,
            env={"PATH": os.environ["PATH"]},
            stdin=devnull.fileno(),
            stdout=out.fileno(),
            stderr=out.fileno(),
        )
        assert processes.kill(killed) == -signal.SIGKILL
