"""The admin call log: each call's User-Agent, and the tags of the resource a write call names."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.emulator.builders import error
from tests.plugins.emulator_fixtures import boto3_client

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def client(emulator: EmulatorServer, extra: str, service: str = "sagemaker", **kwargs: Any) -> Any:
    return boto3_client(
        emulator.url,
        service,
        config=Config(user_agent_extra=extra, retries={"mode": "standard", **kwargs}),
    )


def test_user_agent_picks_out_one_clients_calls(
    sagemaker: EmulatorServer, emulator_admin: AdminClient
) -> None:
    ours = client(sagemaker, "llm-operator/9.9 team-a")
    theirs = client(sagemaker, "someone-else/1.0")
    builders.model(ours, "mine")
    builders.model(theirs, "yours")
    ours.describe_model(ModelName="mine")
    error(ours.describe_model, ModelName="missing")
    log = emulator_admin.call_log(user_agent="llm-operator/9.9 team-a")
    assert [(c["operation"], c["error"]) for c in log] == [
        ("CreateModel", None),
        ("DescribeModel", None),
        ("DescribeModel", "ValidationException"),
    ]
    assert all("Botocore/" in (c["user_agent"] or "") for c in log)
    assert [c["status"] for c in log] == [200, 200, 400]
    everything = emulator_admin.call_log()
    assert [c["seq"] for c in everything] == [1, 2, 3, 4]
    assert "someone-else/1.0" in (everything[1]["user_agent"] or "")
    assert everything[0]["account"] == "123456789012" and everything[0]["region"] == "us-east-1"
    assert emulator_admin.call_log(since=3) == everything[3:]
    assert [c["operation"] for c in emulator_admin.call_log(operation="CreateModel")] == [
        "CreateModel",
        "CreateModel",
    ]


def test_write_calls_record_the_tags_the_resource_had_then(
    sm: Any, emulator_admin: AdminClient
) -> None:
    model_arn = sm.create_model(
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE},
        ExecutionRoleArn=builders.ROLE,
        Tags=[{"Key": "owner", "Value": "alice"}],
    )["ModelArn"]
    sm.add_tags(ResourceArn=model_arn, Tags=[{"Key": "owner", "Value": "bob"}])
    sm.list_tags(ResourceArn=model_arn)
    sm.delete_tags(ResourceArn=model_arn, TagKeys=["owner"])
    sm.delete_model(ModelName="m")
    error(sm.delete_model, ModelName="m")
    log = emulator_admin.call_log()
    assert [(c["operation"], c["write"], c["resource_arn"], c["tags"]) for c in log] == [
        ("CreateModel", True, model_arn, None),  # did not exist yet
        ("AddTags", True, model_arn, {"owner": "alice"}),
        ("ListTags", False, None, None),
        ("DeleteTags", True, model_arn, {"owner": "bob"}),
        ("DeleteModel", True, model_arn, {}),
        ("DeleteModel", True, model_arn, None),  # gone by then
    ]
    assert log[-1]["error"] == "ValidationException"


def test_endpoint_and_component_writes_carry_their_tags(
    sm: Any, emulator_admin: AdminClient
) -> None:
    owner = [{"Key": "team", "Value": "search"}]
    builders.model(sm, "llm-model")
    builders.component_config(sm, "ic-cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg", Tags=owner)
    emulator_admin.settle()
    builders.component(sm, "ic", "ep")
    sm.add_tags(ResourceArn=f"{ARN}:inference-component/ic", Tags=owner)
    emulator_admin.settle()
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 2}
    )
    emulator_admin.settle()
    sm.delete_inference_component(InferenceComponentName="ic")
    emulator_admin.settle()
    sm.delete_endpoint(EndpointName="ep")
    writes = [
        (c["operation"], c["resource_arn"], c["tags"])
        for c in emulator_admin.call_log()
        if c["write"] and c["operation"] not in ("CreateModel", "CreateEndpointConfig")
    ]
    assert writes == [
        ("CreateEndpoint", f"{ARN}:endpoint/ep", None),
        ("CreateInferenceComponent", f"{ARN}:inference-component/ic", None),
        ("AddTags", f"{ARN}:inference-component/ic", {}),
        (
            "UpdateInferenceComponentRuntimeConfig",
            f"{ARN}:inference-component/ic",
            {"team": "search"},
        ),
        ("DeleteInferenceComponent", f"{ARN}:inference-component/ic", {"team": "search"}),
        ("DeleteEndpoint", f"{ARN}:endpoint/ep", {"team": "search"}),
    ]


def test_refused_and_throttled_calls_are_logged_too(
    sagemaker: EmulatorServer, emulator_admin: AdminClient
) -> None:
    sm = client(sagemaker, "auditor/1", max_attempts=1)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(
        EndpointName="ep", EndpointConfigName="cfg", Tags=[{"Key": "k", "Value": "v"}]
    )
    emulator_admin.settle()
    emulator_admin.faults(throttle_rate=1.0, operations=["DeleteEndpoint"])
    assert error(sm.delete_endpoint, EndpointName="ep")[0] == "ThrottlingException"
    emulator_admin.clear_faults()
    assert error(sm.update_endpoint, EndpointName="ep", EndpointConfigName="nope")[0] == (
        "ValidationException"
    )
    last = emulator_admin.call_log(user_agent="auditor/1")[-2:]
    assert [(c["operation"], c["error"], c["status"], c["tags"]) for c in last] == [
        ("DeleteEndpoint", "ThrottlingException", 400, {"k": "v"}),
        ("UpdateEndpoint", "ValidationException", 400, {"k": "v"}),
    ]


def test_invocations_are_logged_and_reset_forgets_the_log(
    sagemaker: EmulatorServer, emulator_admin: AdminClient
) -> None:
    sm = client(sagemaker, "app/1")
    runtime = client(sagemaker, "app/1", "sagemaker-runtime")
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    runtime.invoke_endpoint(
        EndpointName="ep", ContentType="application/json", Body=json.dumps({"inputs": "hi"})
    )
    invoke = emulator_admin.call_log(operation="InvokeEndpoint")
    assert len(invoke) == 1
    assert "app/1" in (invoke[0]["user_agent"] or "")
    assert (invoke[0]["write"], invoke[0]["status"], invoke[0]["tags"]) == (False, 200, None)
    assert emulator_admin.calls()["InvokeEndpoint"] == 1
    emulator_admin.reset()
    assert emulator_admin.call_log() == []
    sm.list_models()
    assert [c["seq"] for c in emulator_admin.call_log()] == [1]
