"""Every request is checked against botocore's model on the server, as SageMaker does."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from botocore.config import Config

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator.builders import error
from tests.plugins.emulator_fixtures import boto3_client


def test_pattern_violation_names_the_member_and_the_constraint(sm: Any) -> None:
    pattern = sm.meta.service_model.shape_for("EndpointName").metadata["pattern"]
    code, message = error(sm.describe_endpoint, EndpointName="bad_name")
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value 'bad_name' at 'endpointName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}"
    )


def test_several_violations_are_reported_together_with_nested_paths(sm: Any) -> None:
    code, message = error(
        sm.create_model,
        ModelName="m" * 64,
        PrimaryContainer={"Image": "img", "Environment": {"1BAD": "x"}},
    )
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: ")
    assert (
        "Value '" + "m" * 64 + "' at 'modelName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63" in message
    )
    assert (
        "Value '{1BAD=x}' at 'primaryContainer.environment' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, "
        "Member must have length greater than or equal to 0, "
        "Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]" in message
    )


def test_enum_and_range_violations(sm: Any) -> None:
    code, message = error(sm.list_endpoints, StatusEquals="Sleeping")
    assert code == "ValidationException"
    assert (
        "Value 'Sleeping' at 'statusEquals' failed to satisfy constraint: "
        "Member must satisfy enum value set: [OutOfService," in message
    )
    code, message = error(sm.list_endpoints, MaxResults=101)
    assert (
        "Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100" in message
    )


def test_list_member_paths_are_one_based(sm: Any) -> None:
    _, message = error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[
            {"VariantName": "ok", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1},
            {"VariantName": "not ok!", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1},
        ],
    )
    assert "at 'productionVariants.2.member.variantName'" in message


def test_wrong_types_are_a_serialization_error_not_a_crash(
    emulator: EmulatorServer, emulator_admin: AdminClient
) -> None:
    loose = boto3_client(
        emulator.url, config=Config(parameter_validation=False, retries={"mode": "standard"})
    )
    code, message = error(loose.describe_endpoint, EndpointName=42)
    assert code == "SerializationException"
    assert "endpointName" in message
    code, message = error(loose.list_endpoints, MaxResults="ten")
    assert code == "SerializationException"
    assert "maxResults" in message


def _raw(url: str, target: str, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as failed:
        return failed.code, json.loads(failed.read()), dict(failed.headers)


def test_malformed_json_and_unknown_operations(
    emulator: EmulatorServer, emulator_admin: AdminClient
) -> None:
    status, body, headers = _raw(emulator.url, "SageMaker.DescribeEndpoint", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException"
    assert headers.get("x-amzn-RequestId")
    status, body, _ = _raw(emulator.url, "SageMaker.CreateTrainingJob", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body, _ = _raw(emulator.url, "SageMaker.DescribeEndpoint", b"{}")
    assert status == 400
    assert body == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value null at 'endpointName' failed to "
        "satisfy constraint: Member must not be null",
    }
