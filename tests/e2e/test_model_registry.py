"""spec.model.modelPackage end to end: the model registry's approvals drive what serves,
and AWS Marketplace packages deploy as SageMaker requires (kubectl, the operator under
the chart's RBAC, the emulator's registry set up with boto3 as a pipeline would)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_operator.api.models import MSG_PACKAGE_VERSION_VALUE
from local_cluster.cluster import LocalCluster
from local_cluster.llmendpoints import condition
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.alarms import latency_alarm
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import load, to_yaml
from tests.plugins.llmendpoints import events, get_llme, wait_gone, wait_ready

pytestmark = pytest.mark.e2e

GROUP = "support-bot-llm"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)
MARKETPLACE_ARN = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-llm-1-abc"
VENDOR_IMAGE = "865070037744.dkr.ecr.us-east-1.amazonaws.com/vendor-llm-1:1.0"
# During rollouts one emulator delay stands for 300 s of AWS time: a 3600 s bake lasts
# 18 s, long enough to flip the alarm in it.
ROLLOUT_DELAY = 1.5


def manifest(name: str) -> dict[str, Any]:
    (found,) = [d for d in load("model-registry/latest-approved") if d["metadata"]["name"] == name]
    return found


def register(sm: Any, status: str) -> str:
    """One version of the group, as a training pipeline registers it."""
    answer = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": IMAGE,
                    "ModelDataUrl": "s3://models/support-bot/model.tar.gz",
                    "Environment": {"HF_MODEL_ID": "org/support-bot", "SM_NUM_GPUS": "1"},
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.g5.2xlarge", "ml.g5.12xlarge"],
        },
    )
    arn: str = answer["ModelPackageArn"]
    return arn


def served_package(sm: Any, obj: dict[str, Any]) -> str:
    """The package of the model the base component (or the endpoint config) serves."""
    status = obj["status"]
    if status.get("inferenceComponents"):
        component = sm.describe_inference_component(
            InferenceComponentName=status["inferenceComponents"][0]["name"]
        )
        model = component["Specification"]["ModelName"]
    else:
        config = sm.describe_endpoint_config(EndpointConfigName=status["endpointConfigName"])
        model = config["ProductionVariants"][0]["ModelName"]
    described = sm.describe_model(ModelName=model)
    containers = described.get("Containers") or [described.get("PrimaryContainer")]
    return str(containers[0]["ModelPackageName"])


def wait_version(kubectl: Kubectl, sm: Any, name: str, version: int, operator: Operator) -> Any:
    """The LLMEndpoint once it is Ready and its endpoint serves `version`."""

    def probe() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        model = ((obj or {}).get("status") or {}).get("model") or {}
        if obj is None or model.get("version") != version:
            return None
        if condition(obj, "Ready").get("status") != "True" or obj["status"].get("phase") != (
            "InService"
        ):
            return None
        return obj if served_package(sm, obj) == model["arn"] else None

    return wait_for(
        probe,
        timeout=240,
        what=f"{name} serving version {version}",
        diagnose=lambda: f"{(get_llme(kubectl, name) or {}).get('status')}\n{operator.log_tail()}",
    )


def reasons(kubectl: Kubectl, name: str) -> list[tuple[str, str, str]]:
    return [(e["type"], e["reason"], e.get("message") or "") for e in events(kubectl, name)]


def test_approvals_roll_out_and_rejections_roll_back(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator
) -> None:
    sm = boto3_client(emulator_process.url)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    v1 = register(sm, "Approved")
    v2 = register(sm, "PendingManualApproval")
    bot = manifest("support-bot")
    kubectl.apply(to_yaml(bot))

    # Version 1 serves; the pending version 2 is not deployed.
    first = wait_version(kubectl, sm, "support-bot", 1, operator)
    assert first["status"]["model"]["arn"] == v1
    assert first["status"]["model"]["approval"] == "Approved"
    assert first["status"]["modelSource"] == f"{GROUP}:latest-approved"
    wide = kubectl("get", "llme", "support-bot", "-o", "wide").stdout
    assert "VERSION" in wide.splitlines()[0] and " 1 " in wide.splitlines()[1]

    # Approving version 2 rolls it out through spec.rollout, never going dark.
    sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Approved")
    second = wait_version(kubectl, sm, "support-bot", 2, operator)
    assert second["status"]["model"]["arn"] == v2
    seen = reasons(kubectl, "support-bot")
    approved = [m for t, r, m in seen if (t, r) == ("Normal", "ModelVersionApproved")]
    assert len(approved) == 1 and "version 2" in approved[0], seen
    assert (second["status"].get("rollout") or {}).get("phase") == "Succeeded"

    # Rejecting the version that serves rolls back to the newest still Approved.
    sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Rejected")
    back = wait_version(kubectl, sm, "support-bot", 1, operator)
    assert back["status"]["model"]["arn"] == v1
    seen = reasons(kubectl, "support-bot")
    rejected = [m for t, r, m in seen if (t, r) == ("Warning", "ModelVersionRejected")]
    assert len(rejected) == 1 and "rolling back to version 1" in rejected[0], seen

    # Deletion leaves no model behind and never touches the registry.
    kubectl("delete", "llme", "support-bot", "--wait=false")
    wait_gone(kubectl, "support-bot", timeout=240, log=operator.log_tail)
    assert sm.list_models()["Models"] == []
    listed = sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert {(s["ModelPackageArn"], s["ModelApprovalStatus"]) for s in listed} == {
        (v1, "Approved"),
        (v2, "Rejected"),
    }
    # The operator only ever read the registry.
    ours = emulator_process.admin_client.call_log(user_agent="sagemaker-llm-operator/")
    assert ours, "no call of the operator's was recorded"
    assert {c["operation"] for c in ours if "ModelPackage" in c["operation"]} == {
        "ListModelPackages",
        "DescribeModelPackage",
    }


def test_a_marketplace_package_runs_isolated_on_a_type_it_supports(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator
) -> None:
    emulator_process.admin_client.seed_marketplace_package(
        arn=MARKETPLACE_ARN,
        image=VENDOR_IMAGE,
        environment={"HF_MODEL_ID": "vendor/llm-1"},
        supported_realtime_instance_types=["ml.g5.12xlarge", "ml.g5.48xlarge"],
    )
    sm = boto3_client(emulator_process.url)
    vendor = manifest("vendor-llm")
    small = {**vendor, "metadata": {"name": "vendor-llm-small"}}
    small["spec"] = {**vendor["spec"], "instance": {"type": "ml.g5.2xlarge", "count": 1}}
    kubectl.apply(to_yaml(vendor, small))

    ready = wait_ready(kubectl, "vendor-llm", timeout=240, log=operator.log_tail)
    model = sm.describe_model(ModelName=ready["status"]["modelName"])
    assert model["EnableNetworkIsolation"] is True
    assert served_package(sm, ready) == MARKETPLACE_ARN
    assert ready["status"]["model"]["arn"] == MARKETPLACE_ARN

    def refused() -> dict[str, Any] | None:
        obj = get_llme(kubectl, "vendor-llm-small")
        degraded = condition(obj or {}, "Degraded")
        return obj if degraded.get("reason") == "ModelPackageUnsupported" else None

    obj = wait_for(refused, timeout=60, what="vendor-llm-small refused", diagnose=operator.log_tail)
    message = condition(obj, "Degraded")["message"]
    assert "ml.g5.2xlarge" in message and "supported: ml.g5.12xlarge, ml.g5.48xlarge" in message
    assert any(
        (t, r) == ("Warning", "ModelPackageUnsupported")
        for t, r, _ in reasons(kubectl, "vendor-llm-small")
    )
    # Nothing was sent for it: one model and one endpoint, the supported one's.
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [ready["status"]["modelName"]]
    assert len(sm.list_endpoints()["Endpoints"]) == 1


def update_calls(emulator: Emulator, operation: str) -> int:
    return sum(1 for c in emulator.admin_client.call_log(operation=operation) if c["error"] is None)


@pytest.mark.with_moto
def test_a_version_an_alarm_rolled_back_is_not_retried_and_a_restart_rolls_out_once(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator
) -> None:
    assert emulator_process.moto_url is not None
    cloudwatch = boto3_client(emulator_process.moto_url, "cloudwatch")
    alarm = latency_alarm(cloudwatch)
    sm = boto3_client(emulator_process.url)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    v1 = register(sm, "Approved")
    v2 = register(sm, "PendingManualApproval")
    bot = manifest("support-bot")
    bot["spec"]["rollout"] = {
        "strategy": "Rolling",
        "maxBatchPercent": 50,
        "waitSeconds": 3600,
        "rollbackAlarms": [alarm],
    }
    kubectl.apply(to_yaml(bot))
    wait_version(kubectl, sm, "support-bot", 1, operator)
    emulator_process.admin_client.set_delay(ROLLOUT_DELAY)

    # Version 2 is approved and rolls out; its alarm fires mid-rollout: rolled back.
    sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Approved")

    def rolling() -> dict[str, Any] | None:
        obj = get_llme(kubectl, "support-bot") or {}
        status = obj.get("status") or {}
        moving = (status.get("rollout") or {}).get("phase") in ("InProgress", "Baking")
        return obj if moving and (status.get("model") or {}).get("version") == 2 else None

    running = wait_for(
        rolling, timeout=180, what="version 2 rolling out", diagnose=operator.log_tail
    )
    assert condition(running, "Ready")["status"] == "True"  # version 1 serves meanwhile
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="e2e")
    back = wait_version(kubectl, sm, "support-bot", 1, operator)
    assert back["status"]["model"]["notRetried"] == [2]
    rolled = [m for t, r, m in reasons(kubectl, "support-bot") if r == "RolledBack"]
    assert rolled and alarm in rolled[0] and "version 2 of model package group" in rolled[0]
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="e2e")

    # Listed again and again, version 2 is still Approved: it is not retried.
    updates = update_calls(emulator_process, "UpdateInferenceComponent")
    listed = update_calls(emulator_process, "ListModelPackages")
    wait_for(
        lambda: update_calls(emulator_process, "ListModelPackages") >= listed + 2,
        timeout=60,
        what="two more listings of the group",
        diagnose=operator.log_tail,
    )
    assert update_calls(emulator_process, "UpdateInferenceComponent") == updates
    assert (get_llme(kubectl, "support-bot") or {})["status"]["model"]["version"] == 1

    # A newer version is approved; the operator is SIGKILLed as it rolls it out.
    v3 = register(sm, "Approved")
    wait_for(
        lambda: update_calls(emulator_process, "UpdateInferenceComponent") > updates,
        timeout=120,
        what="version 3's rollout call",
        diagnose=operator.log_tail,
    )
    operator.kill()
    operator.start()
    operator.wait_healthy()
    third = wait_version(kubectl, sm, "support-bot", 3, operator)
    assert third["status"]["model"]["arn"] == v3
    assert update_calls(emulator_process, "UpdateInferenceComponent") == updates + 1

    # Every version but the rolled-back one rejected: version 3 keeps serving, Degraded.
    for arn in (v1, v3):
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    def degraded() -> dict[str, Any] | None:
        obj = get_llme(kubectl, "support-bot") or {}
        return obj if condition(obj, "Degraded").get("reason") == "NoApprovedVersion" else None

    left = wait_for(degraded, timeout=60, what="NoApprovedVersion", diagnose=operator.log_tail)
    assert "still serving version 3" in condition(left, "Degraded")["message"]
    assert condition(left, "Ready")["status"] == "True"
    assert left["status"]["phase"] == "InService"
    assert served_package(sm, left) == v3


def test_plan_shows_the_version_it_would_deploy_reading_only(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    emulator_process: Emulator,
    tmp_path: Path,
) -> None:
    sm = boto3_client(emulator_process.url)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    v2 = register(sm, "Approved")
    register(sm, "PendingManualApproval")
    bot = manifest("support-bot")
    bot["metadata"]["namespace"] = namespace
    pinned = {**bot, "metadata": {"name": "pinned", "namespace": namespace}}
    pinned["spec"] = {**bot["spec"], "model": {"modelPackage": {"group": GROUP, "version": 1}}}
    # The API server takes a version number as an integer, and refuses what is none.
    kubectl("apply", "--dry-run=server", "-f", "-", input=to_yaml(pinned))
    wrong = {
        **pinned,
        "spec": {**pinned["spec"], "model": {"modelPackage": {"group": GROUP, "version": 0}}},
    }
    refused = kubectl("apply", "--dry-run=server", "-f", "-", input=to_yaml(wrong), check=False)
    assert refused.returncode != 0 and MSG_PACKAGE_VERSION_VALUE in refused.stderr
    file = tmp_path / "llme.yaml"
    file.write_text(to_yaml(bot, pinned))
    seq = last_seq(emulator_process)

    result = cli("plan", "-f", str(file), emulator=emulator_process, kubeconfig=cluster.kubeconfig)
    assert result.returncode == 2, result.stderr + result.stdout
    text = result.stdout
    assert f"model: version 2 of model package group {GROUP} ({v2})" in text
    assert f"model: version 1 of model package group {GROUP}" in text
    assert f"Containers[0].ModelPackageName: '{v2}'" in text, text
    as_json = cli(
        "plan",
        "-f",
        str(file),
        "-o",
        "json",
        emulator=emulator_process,
        kubeconfig=cluster.kubeconfig,
    )
    planned = json.loads(as_json.stdout)["llmEndpoints"]
    assert [p["model"]["version"] for p in planned] == [2, 1]
    calls = emulator_process.admin_client.call_log(since=seq)
    assert not [c for c in calls if c["write"]]
    assert {"ListModelPackages", "DescribeModelPackage"} <= {c["operation"] for c in calls}


def last_seq(emulator: Emulator) -> int:
    log = emulator.admin_client.call_log()
    return log[-1]["seq"] if log else 0
