"""Every example under examples/ reaches Ready through kubectl, the operator (under the
chart's RBAC) and the SageMaker emulator, and SageMaker holds exactly what it should;
the one example per engine answers in that engine's shape, streamed and not."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from local_cluster.llmendpoints import condition
from local_cluster.services import Emulator, Operator
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import example_files, llmendpoint, llmendpoint_docs, to_yaml
from tests.plugins.llmendpoints import wait_ready, wait_settled
from tests.plugins.sagemaker import OWNER_NAME, OWNER_NAMESPACE, OWNER_UID, SageMaker

pytestmark = pytest.mark.e2e


def _owner_tags_ok(tags: dict[str, str], obj: dict[str, Any]) -> bool:
    meta: dict[str, str] = obj["metadata"]
    return (
        tags.get(OWNER_NAMESPACE) == meta["namespace"]
        and tags.get(OWNER_NAME) == meta["name"]
        and tags.get(OWNER_UID) == meta["uid"]
    )


def _uses_moto(example: Path) -> bool:
    """Autoscaling and rollback alarms live in Application Auto Scaling and CloudWatch."""
    (manifest,) = llmendpoint_docs(example)
    spec = manifest["spec"]
    return "autoscaling" in spec or "autoRollback" in (spec.get("rollout") or {})


EXAMPLES = [
    pytest.param(p, id=p.stem, marks=[pytest.mark.with_moto] if _uses_moto(p) else [])
    for p in example_files()
]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_becomes_ready(
    example: Path,
    kubectl: Kubectl,
    operator: Operator,
    emulator_process: Emulator,
    sagemaker_api: SageMaker,
) -> None:
    (manifest,) = llmendpoint_docs(example)
    name, spec = manifest["metadata"]["name"], manifest["spec"]
    auto = spec.get("autoscaling")
    kubectl.apply(example)

    obj = wait_ready(kubectl, name, log=operator.log_tail)
    if _uses_moto(example):  # set up once the endpoint serves
        obj = wait_settled(kubectl, name, log=operator.log_tail)
    status = obj["status"]
    region = spec["aws"]["region"]

    assert status["phase"] == "InService"
    assert status["sagemakerStatus"] == "InService"
    assert condition(obj, "Progressing").get("status") == "False"
    assert condition(obj, "Degraded").get("status") == "False"
    serverless = spec.get("serverless")
    if serverless is not None:  # billed per use: no hourly figure, and status says so
        assert "estimatedHourlyCostUSD" not in status
        assert status["serverless"]["memoryMiB"] == serverless["memoryMiB"]
        assert status["serverless"]["maxConcurrency"] == serverless["maxConcurrency"]
        assert "per use" in status["serverless"]["billing"]
    elif auto is None or auto.get("minReplicas") != 0:
        assert float(status["estimatedHourlyCostUSD"]) > 0
    else:  # idle, scaled to zero (its instances too, with instance.minCount 0)
        assert float(status["estimatedHourlyCostUSD"]) >= 0
    if auto is not None:
        # The scalable target holds the spec's range (the autoscaler moves inside it).
        held = status["autoscaling"]
        assert (held["minReplicas"], held["maxReplicas"]) == (
            auto.get("minReplicas", 1),
            auto["maxReplicas"],
        )
        assert held["minReplicas"] <= status["replicas"] <= held["maxReplicas"]
    auto_rollback = (spec.get("rollout") or {}).get("autoRollback") or {}
    if auto_rollback:
        alarms = _alarm_tags(emulator_process)
        for threshold, suffix in (
            ("maxErrorRatePercent", "rollback-error-rate"),
            ("maxP99LatencyMs", "rollback-p99-latency"),
        ):
            if threshold in auto_rollback:
                tags = alarms[f"{status['endpointName']}-{suffix}"]
                assert _owner_tags_ok(tags, obj)

    endpoint = sagemaker_api.endpoint(status["endpointName"])
    assert endpoint["EndpointStatus"] == "InService"
    assert status["endpointArn"] == endpoint["EndpointArn"]
    assert endpoint["EndpointConfigName"] == status["endpointConfigName"]
    assert status["invocationUrl"] == (
        f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/"
        f"{status['endpointName']}/invocations"
    )
    assert _owner_tags_ok(sagemaker_api.tags(endpoint["EndpointArn"]), obj)
    for key, value in (spec["aws"].get("tags") or {}).items():
        assert sagemaker_api.tags(endpoint["EndpointArn"])[key] == value

    config = sagemaker_api.endpoint_config(status["endpointConfigName"])
    (variant,) = config["ProductionVariants"]
    if serverless is not None:
        assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
        assert variant["ServerlessConfig"]["MemorySizeInMB"] == serverless["memoryMiB"]
        (described,) = endpoint["ProductionVariants"]
        assert described["CurrentServerlessConfig"] == variant["ServerlessConfig"]
    else:
        assert variant["InstanceType"] == spec["instance"]["type"]
        assert variant["InitialInstanceCount"] == spec["instance"]["count"]
    model = sagemaker_api.model(status["modelName"])
    assert _owner_tags_ok(sagemaker_api.tags(model["ModelArn"]), obj)
    assert model["ExecutionRoleArn"] == spec["aws"]["executionRoleArn"]
    if "vpc" in spec["aws"]:
        assert model["VpcConfig"]["Subnets"] == spec["aws"]["vpc"]["subnets"]
        assert model["VpcConfig"]["SecurityGroupIds"] == spec["aws"]["vpc"]["securityGroupIds"]
    container = model.get("PrimaryContainer") or {}
    if "hfModelId" in spec["model"]:
        assert spec["model"]["hfModelId"] in container["Environment"].values()
    else:
        uri = container.get("ModelDataUrl") or container["ModelDataSource"]["S3DataSource"]["S3Uri"]
        assert uri == spec["model"]["artifactUri"]

    inventory = sagemaker_api.inventory()
    adapters = spec.get("adapters") or []
    assert inventory.endpoints == [status["endpointName"]]
    assert inventory.endpoint_configs == [status["endpointConfigName"]]
    assert status["modelName"] in inventory.models
    if spec.get("endpointType", "InferenceComponent") == "InferenceComponent":
        copies = (spec.get("resources") or {}).get("copies", 1)
        if auto is not None:  # the count autoscaling holds now
            copies = status["copies"]["desired"]
        assert status["copies"] == {"desired": copies, "current": copies}
        assert len(inventory.inference_components) == 1 + len(adapters)
        base = next(
            c
            for c in status["inferenceComponents"]
            if c["name"] not in {a.get("componentName") for a in status.get("adapters") or []}
        )
        component = sagemaker_api.inference_component(base["name"])
        assert component["InferenceComponentStatus"] == "InService"
        assert component["RuntimeConfig"]["CurrentCopyCount"] == copies
        assert component["Specification"]["ModelName"] == status["modelName"]
        assert sorted(a["name"] for a in status.get("adapters") or []) == sorted(
            a["name"] for a in adapters
        )
        for adapter in status.get("adapters") or []:
            described = sagemaker_api.inference_component(adapter["componentName"])
            assert described["InferenceComponentStatus"] == "InService"
            assert described["Specification"]["BaseInferenceComponentName"] == base["name"]
    else:
        assert inventory.inference_components == []
        assert inventory.models == [status["modelName"]]

    engine = spec["model"].get("engine")
    assert status["engine"] == (engine or "vllm")
    if engine is not None:
        _answers_in_the_engine_s_shape(sagemaker_api, obj, engine)


CHAT = {"messages": [{"role": "user", "content": "What is SageMaker?"}], "max_tokens": 6}
GENERATE = {"inputs": "What is SageMaker?", "parameters": {"max_new_tokens": 6}}


def _alarm_tags(emulator: Emulator) -> dict[str, dict[str, str]]:
    """Every CloudWatch alarm in moto, by name, with its tags."""
    assert emulator.moto_url is not None
    cloudwatch = boto3_client(emulator.moto_url, "cloudwatch")
    return {
        alarm["AlarmName"]: {
            t["Key"]: t["Value"]
            for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        }
        for alarm in cloudwatch.describe_alarms()["MetricAlarms"]
    }


def _answers_as_tei(runtime: Any, target: dict[str, str], model: str) -> None:
    """Embeddings (one vector per input, the same for the same text) or, for a reranker,
    scores of the texts, best first."""

    def ask(body: dict[str, Any]) -> Any:
        return json.loads(
            runtime.invoke_endpoint(**target, Body=json.dumps(body).encode())["Body"].read()
        )

    if "rerank" in model:
        texts = ["Bananas are yellow.", "SageMaker hosts models for inference."]
        ranked = ask({"query": "What does SageMaker host?", "texts": texts})
        assert sorted(r["index"] for r in ranked) == [0, 1]
        assert ranked[0]["index"] == 1 and ranked[0]["score"] >= ranked[1]["score"]
        return
    vectors = ask({"inputs": ["What is SageMaker?", "Bananas are yellow."]})
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0
    assert vectors[0] != vectors[1]
    assert ask({"inputs": "What is SageMaker?"}) == [vectors[0]]


def _answers_in_the_engine_s_shape(
    sagemaker_api: SageMaker, obj: dict[str, Any], engine: str
) -> None:
    """Through boto3's sagemaker-runtime, as an application would call it."""
    status = obj["status"]
    runtime = boto3_client(
        sagemaker_api.client.meta.endpoint_url, "sagemaker-runtime", region_name="us-east-1"
    )
    target: dict[str, str] = {"EndpointName": status["endpointName"]}
    if status.get("inferenceComponents"):
        target["InferenceComponentName"] = status["inferenceComponents"][0]["name"]
    if engine == "tei":
        _answers_as_tei(runtime, target, status["modelSource"])
        return
    request = GENERATE if engine == "tgi" else CHAT

    whole = json.loads(
        runtime.invoke_endpoint(**target, Body=json.dumps(request).encode())["Body"].read()
    )
    parts = [
        event["PayloadPart"]["Bytes"]
        for event in runtime.invoke_endpoint_with_response_stream(
            **target, Body=json.dumps({**request, "stream": True}).encode()
        )["Body"]
    ]
    if engine == "tgi":
        (generated,) = whole
        assert len(generated["generated_text"].split()) == 6
        events = [json.loads(p.decode().removeprefix("data:")) for p in parts]
        assert events[-1]["generated_text"] == generated["generated_text"]
        return
    assert whole["object"] == "chat.completion"
    content = whole["choices"][0]["message"]["content"]
    assert len(content.split()) == 6
    if engine == "lmi":  # JSON lines of chat chunks
        chunks = [json.loads(p) for p in parts]
    else:  # server-sent events, then [DONE]
        assert parts[-1] == b"data: [DONE]\n\n"
        chunks = [json.loads(p.decode().removeprefix("data: ")) for p in parts[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == content


def test_hugging_face_token_is_used_but_never_shown(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker, namespace: str
) -> None:
    """The gated-model example: the token from the Secret reaches the container and
    nothing a person or a log pipeline can read."""
    token = "hf_e2eSecretValue0123456789abcdef"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hf-token"},
        "data": {"token": base64.b64encode(token.encode()).decode()},
    }
    kubectl.apply(json.dumps(secret))
    manifest = llmendpoint("gated-model-with-token")
    assert manifest["spec"]["model"]["hfTokenSecretRef"] == {"name": "hf-token", "key": "token"}
    kubectl.apply(to_yaml(manifest))
    name = manifest["metadata"]["name"]
    obj = wait_ready(kubectl, name, log=operator.log_tail)

    env = sagemaker_api.model(obj["status"]["modelName"])["PrimaryContainer"]["Environment"]
    assert token in {env.get("HF_TOKEN"), env.get("HUGGING_FACE_HUB_TOKEN")}
    assert token not in json.dumps(obj)
    assert token not in kubectl("get", "events", "-o", "json").stdout
    assert token not in kubectl("describe", "llmendpoint", name).stdout
    assert token not in operator.log.read_text()
