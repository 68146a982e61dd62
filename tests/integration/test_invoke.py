"""`llm-operator invoke --stream` against the emulator: the time to the first token is
measured when the first token arrives, not when the whole answer has."""

from __future__ import annotations

import io
import threading

import pytest

from llm_operator.core import invocation
from llm_operator.shell.commands.invoke import Answer, Target, call
from tests.emulator.serving import ENVIRONMENTS, IMAGES
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import aws_environment

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"


class _FirstWrite(io.StringIO):
    """Standard output that says when the first token has been written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.first = threading.Event()

    def write(self, text: str) -> int:
        self.first.set()
        return super().write(text)


@pytest.fixture
def vllm_endpoint(emulated_sagemaker: SageMakerEmulator, monkeypatch: pytest.MonkeyPatch) -> Target:
    url = emulated_sagemaker.url
    aws_environment(monkeypatch, SAGEMAKER=url, SAGEMAKER_RUNTIME=url)
    sm = emulated_sagemaker.client()
    sm.create_model(
        ModelName="m",
        PrimaryContainer={"Image": IMAGES["vllm"], "Environment": ENVIRONMENTS["vllm"]},
        ExecutionRoleArn=ROLE,
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g5.2xlarge"}
    sm.create_endpoint_config(
        EndpointConfigName="cfg", ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    assert emulated_sagemaker.admin.wait(timeout=30)
    return Target("us-east-1", "ep", None, invocation.engine("vllm"), "vllm")


def test_streamed_invoke_reports_the_first_token_before_the_last(
    emulated_sagemaker: SageMakerEmulator, vllm_endpoint: Target
) -> None:
    admin = emulated_sagemaker.admin
    admin.faults(hold_streams=True)  # the model stalls once its first part is out
    out = _FirstWrite()
    answers: list[Answer] = []
    worker = threading.Thread(
        target=lambda: answers.append(call(vllm_endpoint, "Hi", 12, stream=True, out=out))
    )
    worker.start()
    assert out.first.wait(timeout=30), "the first token never reached standard output"
    admin.clear_faults()  # only now can the rest of the answer be generated
    worker.join(timeout=30)
    (answer,) = answers
    assert answer.first_token_seconds is not None
    assert answer.first_token_seconds < answer.seconds
    assert out.getvalue() == answer.text and len(answer.text.split()) == 12


def test_invoke_waits_for_the_generation_it_reports(
    emulated_sagemaker: SageMakerEmulator, vllm_endpoint: Target
) -> None:
    emulated_sagemaker.admin.set_token_time(0.02)
    streamed = call(vllm_endpoint, "Hi", 10, stream=True, out=None)
    assert streamed.first_token_seconds is not None
    assert streamed.first_token_seconds < streamed.seconds
    assert streamed.seconds >= 10 * 0.02  # ten tokens generated before the last arrives
    whole = call(vllm_endpoint, "Hi", 10, stream=False, out=None)
    assert whole.seconds >= 10 * 0.02 and whole.text == streamed.text
