"""The commands facing an API server that does not answer: one clear line and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "-f", "examples/mistral-7b-inference-components.yaml"],
        ["invoke", "mistral-7b", "--prompt", "hi"],
        ["audit"],
    ],
)
def test_an_unreachable_api_server_is_one_clear_line_not_a_traceback(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llm_operator import cli
    from local_cluster.ports import free_port

    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}}
                ],
                "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    repo = Path(__file__).resolve().parents[2]
    argv = [a if not a.startswith("examples/") else str(repo / a) for a in argv]
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--kubeconfig", str(config)])
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert "could not reach the Kubernetes API server at 127.0.0.1:" in err
    assert "Traceback" not in err and "not-a-real-token" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["invoke", "m"], "send exactly one of --prompt TEXT, --input TEXT and --rerank"),
        (["invoke", "m", "--prompt", "a", "--input", "b"], "(got --prompt and --input)"),
        (["invoke", "m", "--rerank", "q"], "--rerank QUERY needs --texts"),
        (["invoke", "m", "--input", "a", "--texts", "b"], "--texts needs --rerank"),
    ],
)
def test_invoke_says_which_request_to_send_before_asking_anyone(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from llm_operator import cli

    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--kubeconfig", "/nonexistent/kubeconfig"])
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert message in err and "Traceback" not in err
