"""Serverless endpoints and Text Embeddings Inference: ServerlessConfig checked as
SageMaker checks it, DescribeEndpoint's serverless view, cold starts after idle, and
TEI's embedding and rerank answers, all through unmodified boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders

TEI_CPU = (
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04"
)


def tei_model(sm: Any, name: str = "tei", model_id: str = "BAAI/bge-small-en-v1.5") -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": TEI_CPU, "Environment": {"HF_MODEL_ID": model_id}},
        ExecutionRoleArn=builders.ROLE,
    )


def serverless_variant(model: str = "tei", **config: Any) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, **config},
    }


def serve(sm: Any, admin: AdminClient, **config: Any) -> None:
    tei_model(sm)
    sm.create_endpoint_config(
        EndpointConfigName="cfg", ProductionVariants=[serverless_variant(**config)]
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    admin.settle()


def ask(rt: Any, body: dict[str, Any]) -> Any:
    response = rt.invoke_endpoint(
        EndpointName="ep", Body=json.dumps(body).encode(), ContentType="application/json"
    )
    return json.loads(response["Body"].read())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MemorySizeInMB": 7168}, "Member must have value less than or equal to 6144"),
        ({"MemorySizeInMB": 1500}, "Member must be one of 1024, 2048"),
        ({"MaxConcurrency": 201}, "less than or equal to 200"),
        ({"ProvisionedConcurrency": 6}, "must be between 1 and MaxConcurrency (5)"),
    ],
)
def test_serverless_limits_are_enforced(sm: Any, change: dict[str, Any], message: str) -> None:
    tei_model(sm)
    code, text = builders.error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[serverless_variant(**change)],
    )
    assert code == "ValidationException"
    assert message in text
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []


@pytest.mark.parametrize(
    ("variant", "extra", "message"),
    [
        ({"InstanceType": "ml.c5.xlarge"}, {}, "InstanceType cannot be specified"),
        ({"InitialInstanceCount": 1}, {}, "InitialInstanceCount cannot be specified"),
        (
            {},
            {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}},
            "do not support VPC configuration",
        ),
        (
            {},
            {
                "DataCaptureConfig": {
                    "InitialSamplingPercentage": 10,
                    "DestinationS3Uri": "s3://bucket/capture",
                    "CaptureOptions": [{"CaptureMode": "Input"}],
                }
            },
            "do not support data capture",
        ),
    ],
)
def test_what_serverless_excludes_is_refused(
    sm: Any, variant: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    tei_model(sm)
    code, text = builders.error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[{**serverless_variant(), **variant}],
        **extra,
    )
    assert code == "ValidationException"
    assert message in text


def test_one_variant_only_and_never_components(sm: Any) -> None:
    tei_model(sm)
    second = {**serverless_variant(), "VariantName": "Other"}
    code, text = builders.error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[serverless_variant(), second],
    )
    assert code == "ValidationException" and "exactly one production variant" in text
    no_model = serverless_variant()
    del no_model["ModelName"]
    code, text = builders.error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ExecutionRoleArn=builders.ROLE,
        ProductionVariants=[no_model],
    )
    assert code == "ValidationException" and "do not host inference components" in text


def test_describe_endpoint_shows_the_serverless_config_and_no_instances(
    sm: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, ProvisionedConcurrency=1)
    (variant,) = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"]
    wanted = {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 1}
    assert variant["CurrentServerlessConfig"] == wanted
    assert variant["DesiredServerlessConfig"] == wanted
    assert "CurrentInstanceCount" not in variant and "DesiredInstanceCount" not in variant


def test_an_endpoint_cannot_move_between_serverless_and_instances(
    sm: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin)
    builders.model_config(sm, "instances", "tei", instance="ml.c5.xlarge")
    code, text = builders.error(
        sm.update_endpoint, EndpointName="ep", EndpointConfigName="instances"
    )
    assert code == "ValidationException"
    assert "between a serverless and an instance-based" in text
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "cfg"


def test_a_new_serverless_config_rolls_out(sm: Any, emulator_admin: AdminClient) -> None:
    serve(sm, emulator_admin)
    sm.create_endpoint_config(
        EndpointConfigName="bigger",
        ProductionVariants=[serverless_variant(MemorySizeInMB=4096)],
    )
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="bigger")
    emulator_admin.settle()
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"] == 4096


def test_the_first_request_after_idle_is_a_cold_start(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    """With no delay every gap is idle; a long delay keeps the endpoint warm in between."""
    emulator_admin.set_delay(0)
    emulator_admin.set_cold_start(0)
    serve(sm, emulator_admin)
    ask(rt, {"inputs": "a"})
    ask(rt, {"inputs": "b"})
    assert emulator_admin.cold_starts() == {"ep": 2}
    emulator_admin.set_delay(3600)  # idle only after 3600 x 300 s / 300 s: warm now
    ask(rt, {"inputs": "c"})
    assert emulator_admin.cold_starts() == {"ep": 2}


def test_provisioned_concurrency_keeps_it_warm(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    emulator_admin.set_delay(0)
    emulator_admin.set_cold_start(0)
    serve(sm, emulator_admin, ProvisionedConcurrency=2)
    ask(rt, {"inputs": "a"})
    ask(rt, {"inputs": "b"})
    assert emulator_admin.cold_starts() == {}


def test_tei_embeds_each_input_the_same_way_every_time(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin)
    one = ask(rt, {"inputs": "What is SageMaker?"})
    both = ask(rt, {"inputs": ["What is SageMaker?", "Bananas are yellow."]})
    assert len(one) == 1 and len(one[0]) == 384  # a small model's vector
    assert both[0] == one[0] and both[1] != one[0]
    assert abs(sum(x * x for x in one[0]) - 1.0) < 1e-3  # normalized, as TEI answers


def test_tei_reranks_texts_best_first(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    serve(sm, emulator_admin)
    texts = ["Bananas are yellow.", "SageMaker hosts models.", "Models on SageMaker."]
    ranked = ask(rt, {"query": "What does SageMaker host?", "texts": texts})
    assert sorted(r["index"] for r in ranked) == [0, 1, 2]
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[-1]["index"] == 0  # shares no word with the query
    again = ask(rt, {"query": "What does SageMaker host?", "texts": texts, "return_text": True})
    assert [(r["index"], r["score"]) for r in again] == [(r["index"], r["score"]) for r in ranked]
    assert again[0]["text"] == texts[again[0]["index"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": ""}, "`inputs` cannot be empty"),
        ({"inputs": ["x"] * 33}, "batch size 33 > maximum allowed batch size 32"),
        ({"query": "q", "texts": []}, "`texts` cannot be empty"),
        ({"prompt": "hello"}, "missing field `inputs`"),
    ],
)
def test_tei_refuses_what_it_cannot_read(
    sm: Any, rt: Any, emulator_admin: AdminClient, body: dict[str, Any], message: str
) -> None:
    serve(sm, emulator_admin)
    with pytest.raises(ClientError) as raised:
        ask(rt, body)
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 422
    assert message in error["OriginalMessage"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}},
            "serverless endpoints do not support VPC configuration",
        ),
        ({"EnableNetworkIsolation": True}, "enables network isolation"),
    ],
)
def test_a_model_serverless_cannot_host_is_refused(
    sm: Any, extra: dict[str, Any], message: str
) -> None:
    sm.create_model(
        ModelName="tei",
        PrimaryContainer={"Image": TEI_CPU, "Environment": {"HF_MODEL_ID": "org/m"}},
        ExecutionRoleArn=builders.ROLE,
        **extra,
    )
    code, text = builders.error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[serverless_variant()],
    )
    assert code == "ValidationException" and message in text
