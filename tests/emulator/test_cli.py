"""The console script: first line, signals, --state-file across restarts, --with-moto, --help."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.plugins.emulator_cli import SCRIPT, running, stop, url_of
from tests.plugins.emulator_fixtures import boto3_client


def test_state_file_keeps_resources_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running("--delay", "3600", "--state-file", str(state)) as (process, lines):
        sm = boto3_client(url_of(lines[0]))
        builders.model(sm, "m")
        builders.model_config(sm, "cfg", "m")
        sm.create_endpoint(
            EndpointName="ep", EndpointConfigName="cfg", Tags=[{"Key": "k", "Value": "v"}]
        )
        assert stop(process) == 0
    with running("--delay", "0", "--state-file", str(state)) as (process, lines):
        url = url_of(lines[0])
        sm: Any = boto3_client(url)
        assert AdminClient(url).pending()[0]["name"] == "ep"  # still Creating, as a cloud would be
        AdminClient(url).settle()
        assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"
        assert sm.list_tags(ResourceArn=sm.describe_endpoint(EndpointName="ep")["EndpointArn"])[
            "Tags"
        ] == [{"Key": "k", "Value": "v"}]
        assert stop(process, signal.SIGINT) == 0


def test_faults_from_flags(tmp_path: Path) -> None:
    with running(
        "--delay",
        "0",
        "--fail-next",
        "endpoint:ep=CapacityError: none left",
        "--instance-limit",
        "ml.p5.48xlarge=0",
    ) as (process, lines):
        url = url_of(lines[0])
        sm = boto3_client(url)
        builders.model(sm, "m")
        builders.model_config(sm, "cfg", "m")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
        AdminClient(url).settle()
        assert (
            sm.describe_endpoint(EndpointName="ep")["FailureReason"] == "CapacityError: none left"
        )
        builders.model_config(sm, "p5", "m", instance="ml.p5.48xlarge")
        code, _ = builders.error(sm.create_endpoint, EndpointName="big", EndpointConfigName="p5")
        assert code == "ResourceLimitExceeded"
        assert stop(process) == 0


def test_with_moto_serves_sts_next_to_sagemaker() -> None:
    with running("--with-moto") as (process, lines):
        url_of(lines[0])
        assert lines[1].startswith("moto listening on http://127.0.0.1:")
        sts = boto3_client(lines[1].rsplit(" ", 1)[1], "sts")
        assert sts.get_caller_identity()["Account"] == "123456789012"
        autoscaling = boto3_client(lines[1].rsplit(" ", 1)[1], "application-autoscaling")
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/ic",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=0,
            MaxCapacity=4,
        )
        targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
            "ScalableTargets"
        ]
        assert [t["ResourceId"] for t in targets] == ["inference-component/ic"]
        assert stop(process) == 0


def test_with_moto_the_console_script_scales_on_load() -> None:
    with running("--with-moto", "--delay", "0.2") as (process, lines):
        url, moto = url_of(lines[0]), lines[1].rsplit(" ", 1)[1]
        sm, admin = boto3_client(url), AdminClient(url)
        autoscaling = boto3_client(moto, "application-autoscaling")
        builders.model(sm, "llm-model")
        builders.component_config(sm, "cfg", scaling=(0, 1))
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
        assert admin.wait()
        builders.component(sm, "ic", "ep")
        assert admin.wait()
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/ic",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=1,
            MaxCapacity=2,
        )
        autoscaling.put_scaling_policy(
            PolicyName="concurrency",
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/ic",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 1,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": (
                        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
                    )
                },
            },
        )
        admin.set_load(inference_component="ic", concurrent_requests=2)

        def copies() -> int:
            runtime = sm.describe_inference_component(InferenceComponentName="ic")
            count: int = runtime["RuntimeConfig"]["CurrentCopyCount"]
            return count

        wait_for(lambda: copies() == 2, what="a second copy under load", timeout=30)
        assert stop(process) == 0


def test_help_explains_every_flag() -> None:
    text = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, check=True).stdout
    for flag in (
        "--host",
        "--port",
        "--delay",
        "--state-file",
        "--throttle-rate",
        "--internal-error-rate",
        "--latency",
        "--fail-next",
        "--stuck",
        "--instance-limit",
        "--seed",
        "--with-moto",
        "--verbose",
    ):
        assert flag in text
    assert "AWS_ENDPOINT_URL_SAGEMAKER" in text
