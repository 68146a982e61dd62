"""The API server itself rejects bad LLMEndpoints, one case per CRD validation rule,
with a message that tells the user what to fix. No operator is involved."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins.cluster_fixtures import Kubectl

pytestmark = pytest.mark.e2e

Spec = dict[str, Any]


def valid(endpoint_type: str = "InferenceComponent", name: str = "valid") -> dict[str, Any]:
    spec: Spec = {
        "model": {
            "engine": "tgi",
            "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1",
            "maxInputTokens": 4095,
            "maxTotalTokens": 4096,
        },
        "instance": {"type": "ml.g5.12xlarge", "count": 1},
        "endpointType": endpoint_type,
        "aws": {
            "region": "us-east-1",
            "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
        },
    }
    if endpoint_type == "InferenceComponent":
        spec["instance"].update(minCount=1, maxCount=2)
        spec["resources"] = {"copies": 2, "acceleratorsPerCopy": 1}
    if endpoint_type == "Async":
        spec["async"] = {"outputS3Uri": "s3://llm-async/out/"}
        spec["autoscaling"] = {
            "minReplicas": 0,
            "maxReplicas": 2,
            "metric": "BacklogPerInstance",
            "target": 4,
        }
    if endpoint_type == "Serverless":
        spec["model"] = {"engine": "tei", "hfModelId": "BAAI/bge-small-en-v1.5"}
        spec["serverless"] = {"memoryMiB": 2048, "maxConcurrency": 10}
        del spec["instance"]
    return {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": {"name": name},
        "spec": spec,
    }


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = obj
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    return mutate


def _vllm_on_inferentia(obj: dict[str, Any]) -> None:
    model = obj["spec"]["model"]
    model.pop("maxInputTokens")
    model.pop("maxTotalTokens")
    model["engine"] = "vllm"
    obj["spec"]["instance"]["type"] = "ml.inf2.24xlarge"


def _vllm_serverless(obj: dict[str, Any]) -> None:
    obj["spec"]["model"] = {"engine": "vllm", "hfModelId": "Qwen/Qwen2.5-0.5B-Instruct"}


def _tei_on_ic(obj: dict[str, Any]) -> None:
    obj["spec"]["model"] = {"engine": "tei", "hfModelId": "BAAI/bge-small-en-v1.5"}


# (case id, base object, change, fragment of the API server's message)
CREATE_CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    # --- asynchronous endpoints ---
    (
        "async-without-output",
        "Async",
        lambda o: o["spec"].pop("async"),
        "spec.async is required with endpointType Async (SageMaker needs async.outputS3Uri",
    ),
    (
        "async-output-not-s3",
        "Async",
        _set("spec.async.outputS3Uri", "https://llm-async.s3.amazonaws.com/out/"),
        "async.outputS3Uri must be an S3 location, s3://BUCKET/PREFIX/",
    ),
    (
        "async-failure-same-as-output",
        "Async",
        _set("spec.async.failureS3Uri", "s3://llm-async/out/"),
        "async.failureS3Uri must differ from async.outputS3Uri",
    ),
    (
        "async-topic-not-sns",
        "Async",
        _set("spec.async.errorTopicArn", "arn:aws:sqs:us-east-1:123456789012:q"),
        "async.errorTopicArn must be an SNS topic ARN",
    ),
    (
        "async-concurrency",
        "Async",
        _set("spec.async.maxConcurrentInvocationsPerInstance", 1001),
        "maxConcurrentInvocationsPerInstance in body should be less than or equal to 1000",
    ),
    (
        "async-block-on-model",
        "Model",
        _set("spec.async", {"outputS3Uri": "s3://llm-async/out/"}),
        "where it writes the answers) and refused with the other endpoint types",
    ),
    (
        "async-resources",
        "Async",
        _set("spec.resources", {"copies": 2}),
        "SageMaker hosts asynchronous inference on a model variant",
    ),
    (
        "async-adapters",
        "Async",
        _set("spec.adapters", [{"name": "a", "artifactUri": "s3://llm-async/a.tar.gz"}]),
        "adapters cannot be used with endpointType Async",
    ),
    (
        "async-instance-scaling",
        "Async",
        _set("spec.instance.maxCount", 2),
        "cannot be used with endpointType Async: set autoscaling.minReplicas",
    ),
    (
        "async-real-time-metric",
        "Async",
        _set("spec.autoscaling.metric", "ConcurrentRequests"),
        "autoscaling.metric must be BacklogPerInstance with endpointType Async",
    ),
    (
        "backlog-metric-on-model",
        "Model",
        _set("spec.autoscaling", {"maxReplicas": 2, "metric": "BacklogPerInstance", "target": 4}),
        "BacklogPerInstance applies to endpointType Async only",
    ),
    (
        "async-serverless-block",
        "Async",
        _set("spec.serverless", {"memoryMiB": 2048, "maxConcurrency": 5}),
        "spec.serverless is required with endpointType Serverless",
    ),
    (
        "async-on-pool",
        "Async",
        lambda o: (o["spec"].pop("instance"), _set("spec.pool", {"name": "shared"})(o)),
        "endpointType Async runs on instances of its own",
    ),
    # --- serverless endpoints and engine tei ---
    (
        "serverless-gpu-engine",
        "Serverless",
        _vllm_serverless,
        "endpointType Serverless runs on CPUs only (SageMaker serverless has no GPUs) and "
        "model.engine vllm has GPU images only",
    ),
    (
        "serverless-default-engine",
        "Serverless",
        lambda o: o["spec"]["model"].pop("engine"),
        "model.engine vllm (the default) has GPU images only",
    ),
    (
        "serverless-7-gib",
        "Serverless",
        _set("spec.serverless.memoryMiB", 7168),
        "spec.serverless.memoryMiB in body should be less than or equal to 6144",
    ),
    (
        "serverless-memory-step",
        "Serverless",
        _set("spec.serverless.memoryMiB", 1500),
        "serverless.memoryMiB must be one of 1024, 2048, 3072, 4096, 5120 or 6144",
    ),
    (
        "serverless-concurrency",
        "Serverless",
        _set("spec.serverless.maxConcurrency", 201),
        "spec.serverless.maxConcurrency in body should be less than or equal to 200",
    ),
    (
        "serverless-provisioned-over-max",
        "Serverless",
        _set("spec.serverless.provisionedConcurrency", 11),
        "serverless.provisionedConcurrency must not exceed serverless.maxConcurrency",
    ),
    (
        "serverless-with-instance",
        "Serverless",
        _set("spec.instance", {"type": "ml.c5.xlarge", "count": 1}),
        "endpointType Serverless runs on SageMaker's serverless capacity, not on instances",
    ),
    (
        "serverless-without-block",
        "Serverless",
        lambda o: o["spec"].pop("serverless"),
        "spec.serverless is required with endpointType Serverless",
    ),
    (
        "serverless-block-on-model",
        "Model",
        _set("spec.serverless", {"memoryMiB": 2048, "maxConcurrency": 5}),
        "spec.serverless is required with endpointType Serverless and refused with the other",
    ),
    (
        "serverless-vpc",
        "Serverless",
        _set("spec.aws.vpc", {"subnets": ["subnet-0a1"], "securityGroupIds": ["sg-0b2"]}),
        "aws.vpc cannot be used with endpointType Serverless",
    ),
    (
        "serverless-autoscaling",
        "Serverless",
        _set("spec.autoscaling", {"maxReplicas": 2, "target": 4}),
        "autoscaling cannot be used with endpointType Serverless",
    ),
    (
        "serverless-resources",
        "Serverless",
        _set("spec.resources", {"copies": 2}),
        "resources (copies and per-copy compute) cannot be used with endpointType Serverless",
    ),
    (
        "serverless-adapters",
        "Serverless",
        _set("spec.adapters", [{"name": "a", "artifactUri": "s3://bucket-1/a.tar.gz"}]),
        "adapters cannot be used with endpointType Serverless",
    ),
    (
        "serverless-rolling",
        "Serverless",
        _set("spec.rollout", {"strategy": "Rolling"}),
        "SageMaker excludes serverless endpoints from rolling deployments",
    ),
    (
        "serverless-model-too-large",
        "Serverless",
        _set("spec.model.parametersBillions", 7),
        "the model does not fit serverless.memoryMiB",
    ),
    (
        "tei-setting-on-tgi",
        "InferenceComponent",
        _set("spec.model.maxBatchTokens", 16384),
        "model.maxBatchTokens cannot be expressed by engine tgi",
    ),
    (
        "vllm-setting-on-tei",
        "InferenceComponent",
        lambda o: (_tei_on_ic(o), _set("spec.model.maxModelLength", 512)(o)),
        "model.maxModelLength cannot be expressed by engine tei",
    ),
    (
        "tei-dtype-bfloat16",
        "InferenceComponent",
        lambda o: (_tei_on_ic(o), _set("spec.model.dtype", "bfloat16")(o)),
        "model.dtype bfloat16 is not supported by engine tei",
    ),
    (
        "tei-adapters",
        "InferenceComponent",
        lambda o: (
            _tei_on_ic(o),
            _set("spec.adapters", [{"name": "a", "artifactUri": "s3://bucket-1/a.tar.gz"}])(o),
        ),
        "adapters cannot be used with model.engine tei",
    ),
    (
        "unknown-instance-family",
        "InferenceComponent",
        _set("spec.instance.type", "ml.zz9.xlarge"),
        "instance.type must be an ml.* instance type of a known family",
    ),
    (
        "instance-type-not-ml",
        "InferenceComponent",
        _set("spec.instance.type", "g5.12xlarge"),
        "spec.instance.type in body should match",
    ),
    (
        "copies-below-zero",
        "InferenceComponent",
        _set("spec.resources.copies", -1),
        "spec.resources.copies in body should be greater than or equal to 0",
    ),
    (
        "both-model-sources",
        "InferenceComponent",
        _set("spec.model.artifactUri", "s3://my-model-bucket/model.tar.gz"),
        "set exactly one of model.hfModelId, model.artifactUri and model.modelPackage",
    ),
    (
        "package-with-image",
        "InferenceComponent",
        _set("spec.model", {"modelPackage": {"group": "support-bot-llm"}, "image": "x"}),
        "model.image cannot be set with model.modelPackage",
    ),
    (
        "package-with-engine-settings",
        "InferenceComponent",
        _set("spec.model", {"modelPackage": {"group": "g"}, "maxModelLength": 4096}),
        "with model.modelPackage only model.env",
    ),
    (
        "package-arn-with-version",
        "InferenceComponent",
        _set(
            "spec.model",
            {
                "modelPackage": {
                    "arn": "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-llm",
                    "version": 2,
                }
            },
        ),
        "model.modelPackage.version picks a version of a group",
    ),
    (
        "no-model-source",
        "InferenceComponent",
        lambda o: o["spec"]["model"].pop("hfModelId"),
        "set exactly one of model.hfModelId, model.artifactUri and model.modelPackage",
    ),
    (
        "adapters-on-model-endpoint",
        "Model",
        _set(
            "spec.adapters",
            [{"name": "support", "artifactUri": "s3://my-model-bucket/a/support.tar.gz"}],
        ),
        "adapters need endpointType InferenceComponent",
    ),
    (
        "resources-on-model-endpoint",
        "Model",
        _set("spec.resources", {"copies": 1}),
        "resources (copies and per-copy compute) apply to endpointType InferenceComponent only",
    ),
    (
        "scaling-on-model-endpoint",
        "Model",
        _set("spec.instance.maxCount", 2),
        "instance.minCount and instance.maxCount (managed instance scaling) apply to",
    ),
    (
        "min-count-above-max-count",
        "InferenceComponent",
        _set("spec.instance", {"type": "ml.g5.12xlarge", "count": 3, "minCount": 3, "maxCount": 2}),
        "instance.minCount must not be greater than instance.maxCount",
    ),
    (
        "count-below-min-count",
        "InferenceComponent",
        _set("spec.instance", {"type": "ml.g5.12xlarge", "count": 1, "minCount": 2, "maxCount": 2}),
        "instance.count must not be less than instance.minCount",
    ),
    (
        "count-above-max-count",
        "InferenceComponent",
        _set("spec.instance", {"type": "ml.g5.12xlarge", "count": 3, "minCount": 1, "maxCount": 2}),
        "instance.count must not be greater than instance.maxCount",
    ),
    (
        "name-too-long-for-sagemaker",
        "InferenceComponent",
        _set("metadata.name", "a-name-that-is-far-too-long-for-sagemaker"),
        "metadata.name must be at most 36 characters",
    ),
    (
        "input-tokens-not-below-total",
        "InferenceComponent",
        _set("spec.model.maxInputTokens", 4096),
        "maxInputTokens must be less than maxTotalTokens",
    ),
    (
        "prefill-below-input",
        "InferenceComponent",
        _set("spec.model.maxBatchPrefillTokens", 100),
        "maxBatchPrefillTokens must be at least maxInputTokens",
    ),
    (
        "batch-total-below-total",
        "InferenceComponent",
        _set("spec.model.maxBatchTotalTokens", 100),
        "maxBatchTotalTokens must be at least maxTotalTokens",
    ),
    (
        "setting-the-engine-cannot-express",
        "InferenceComponent",
        _set("spec.model.engine", "vllm"),
        "model.maxInputTokens cannot be expressed by engine vllm: remove it (the engine bounds "
        "the prompt by the context, model.maxModelLength)",
    ),
    (
        "value-the-engine-does-not-accept",
        "InferenceComponent",
        lambda obj: obj["spec"].update(
            model={"engine": "sglang", "hfModelId": "org/m", "quantize": "eetq"}
        ),
        "model.quantize eetq is not supported by engine sglang",
    ),
    (
        "tgi-version-with-another-engine",
        "InferenceComponent",
        lambda obj: obj["spec"].update(
            model={"engine": "lmi", "hfModelId": "org/m", "tgiVersion": "3.3"}
        ),
        "model.tgiVersion is the deprecated name of model.engineVersion",
    ),
    (
        "tensor-parallel-beyond-the-copy",
        "InferenceComponent",
        _set("spec.model.tensorParallelDegree", 2),
        "model.tensorParallelDegree must not exceed resources.acceleratorsPerCopy",
    ),
    (
        "unknown-inference-ami",
        "InferenceComponent",
        _set("spec.instance.inferenceAmiVersion", "al2-ami-sagemaker-inference-gpu-9"),
        "spec.instance.inferenceAmiVersion: Unsupported value",
    ),
    (
        "token-in-env",
        "InferenceComponent",
        _set("spec.model.env", {"HF_TOKEN": "hf_not_a_real_token"}),
        "do not put the Hugging Face token in model.env",
    ),
    (
        "env-key-not-a-variable-name",
        "InferenceComponent",
        _set("spec.model.env", {"NOT-A-NAME": "x"}),
        "model.env keys must be environment variable names",
    ),
    (
        "adapter-named-base",
        "InferenceComponent",
        _set(
            "spec.adapters",
            [{"name": "base", "artifactUri": "s3://my-model-bucket/a/base.tar.gz"}],
        ),
        "adapter name 'base' is reserved",
    ),
    (
        "reserved-tag-key",
        "InferenceComponent",
        _set("spec.aws.tags", {"llmoperator.io/name": "spoof"}),
        "aws.tags keys must not start with 'llmoperator.io/' or 'aws:'",
    ),
    (
        "region-without-sagemaker",
        "InferenceComponent",
        _set("spec.aws.region", "us-eats-1"),
        "aws.region us-eats-1 is not a region where SageMaker is available",
    ),
    (
        "tag-value-sagemaker-refuses",
        "InferenceComponent",
        _set("spec.aws.tags", {"team": "\N{ROCKET}"}),
        "aws.tags keys (1 to 128 characters) and values (at most 256) may hold only",
    ),
    (
        "environment-over-sagemakers-limit",
        "InferenceComponent",
        _set("spec.model.env", {f"V{i:02d}": "x" * 1000 for i in range(31)}),
        "model.env keys and values together must be at most 30720 characters",
    ),
    (
        "adapter-name-with-double-dash",
        "InferenceComponent",
        _set(
            "spec.adapters",
            [{"name": "a--b", "artifactUri": "s3://my-model-bucket/a/ab.tar.gz"}],
        ),
        "spec.adapters[0].name in body should match",
    ),
    (
        "unknown-endpoint-type",
        "InferenceComponent",
        _set("spec.endpointType", "Batch"),
        'supported values: "InferenceComponent", "Model", "Serverless", "Async"',
    ),
    (
        "unknown-field",
        "InferenceComponent",
        _set("spec.instance.typo", 1),
        'unknown field "spec.instance.typo"',
    ),
    (
        "canary-on-inference-components",
        "InferenceComponent",
        _set("spec.rollout", {"strategy": "Canary", "canaryPercent": 10}),
        "rollout.strategy must be Rolling for endpointType InferenceComponent",
    ),
    (
        "canary-percent-with-linear",
        "Model",
        _set("spec.rollout", {"strategy": "Linear", "canaryPercent": 10}),
        "rollout.canaryPercent applies to strategy Canary only",
    ),
    (
        "batch-percent-with-canary",
        "Model",
        _set("spec.rollout", {"strategy": "Canary", "maxBatchPercent": 10}),
        "rollout.maxBatchPercent applies to strategy Rolling only",
    ),
    (
        "linear-step-with-rolling",
        "InferenceComponent",
        _set("spec.rollout", {"strategy": "Rolling", "linearStepPercent": 20}),
        "rollout.linearStepPercent applies to strategy Linear only",
    ),
    (
        "eleven-rollback-alarms",
        "Model",
        _set("spec.rollout", {"rollbackAlarms": [f"alarm-{i}" for i in range(11)]}),
        "must have at most 10 items",
    ),
    (
        "eleven-alarms-with-auto-rollback",
        "Model",
        _set(
            "spec.rollout",
            {
                "rollbackAlarms": [f"alarm-{i}" for i in range(9)],
                "autoRollback": {"maxErrorRatePercent": 1, "maxP99LatencyMs": 2000},
            },
        ),
        "rollout: at most 10 alarms in all",
    ),
    (
        "empty-auto-rollback",
        "Model",
        _set("spec.rollout", {"autoRollback": {}}),
        "rollout.autoRollback needs maxErrorRatePercent or maxP99LatencyMs",
    ),
    (
        "timeout-below-sagemakers-minimum",
        "Model",
        _set("spec.rollout", {"timeoutSeconds": 60}),
        "spec.rollout.timeoutSeconds: Invalid value: 60",
    ),
    (
        "rollout-longer-than-its-timeout",
        "Model",
        _set(
            "spec.rollout",
            {
                "strategy": "Linear",
                "linearStepPercent": 10,
                "waitSeconds": 3600,
                "timeoutSeconds": 600,
            },
        ),
        "rollout cannot finish within timeoutSeconds: SageMaker bakes waitSeconds after each step",
    ),
    (
        "autoscaling-min-over-max",
        "InferenceComponent",
        _set("spec.autoscaling", {"minReplicas": 3, "maxReplicas": 2, "target": 4}),
        "autoscaling.minReplicas must not be greater than autoscaling.maxReplicas",
    ),
    (
        "autoscaling-zero-on-model-endpoint",
        "Model",
        _set("spec.autoscaling", {"minReplicas": 0, "maxReplicas": 2, "target": 4}),
        "needs endpointType InferenceComponent (or Async): SageMaker scales only inference",
    ),
    (
        "vllm-on-inferentia",
        "Model",
        _vllm_on_inferentia,
        "model.engine vllm has no AWS container for ml.inf2.24xlarge (Inferentia): use engine "
        "lmi or tgi, a GPU instance type, or set model.image to a Neuron image of your own",
    ),
    (
        "role-of-another-partition",
        "InferenceComponent",
        _set("spec.aws.executionRoleArn", "arn:aws-cn:iam::123456789012:role/SageMakerExecution"),
        "aws.executionRoleArn must be a role of partition aws, the partition of aws.region "
        "us-east-1 (arn:aws:iam::ACCOUNT:role/NAME)",
    ),
    (
        "role-of-no-partition",
        "InferenceComponent",
        _set("spec.aws.roleArn", "arn:awsfoo:iam::123456789012:role/tenant"),
        "spec.aws.roleArn in body should match",
    ),
    (
        "china-region-with-an-aws-role",
        "Model",
        _set("spec.aws.region", "cn-north-1"),
        "aws.executionRoleArn must be a role of partition aws-cn, the partition of aws.region "
        "cn-north-1 (arn:aws-cn:iam::ACCOUNT:role/NAME)",
    ),
    (
        "prefix-aware-routing-on-tgi",
        "InferenceComponent",
        _set("spec.routing", {"strategy": "PrefixAware"}),
        "routing.strategy PrefixAware needs an engine that keeps a prefix (KV) cache "
        "(vllm, sglang, lmi); engine tgi: TGI is archived",
    ),
    (
        "prefix-length-with-kv-aware-routing",
        "InferenceComponent",
        _set("spec.routing", {"strategy": "KVAware", "prefixLength": 2048}),
        "routing.prefixLength and routing.concurrencyThreshold apply to strategy PrefixAware only",
    ),
    (
        "autoscaling-unknown-metric",
        "InferenceComponent",
        _set("spec.autoscaling", {"maxReplicas": 2, "target": 4, "metric": "CPU"}),
        'supported values: "ConcurrentRequests", "Invocations"',
    ),
]


@pytest.mark.parametrize(
    ("base", "mutate", "message"),
    [pytest.param(b, m, msg, id=i) for i, b, m, msg in CREATE_CASES],
)
def test_invalid_llmendpoint_is_rejected_with_a_clear_message(
    kubectl: Kubectl, base: str, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    obj = valid(base)
    assert kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(obj)).returncode == 0
    bad = copy.deepcopy(obj)
    mutate(bad)
    result = kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
    assert result.returncode != 0, f"accepted: {bad}"
    assert message in result.stderr
    assert kubectl("get", "llmendpoints", "-o", "name").stdout.strip() == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param(
            "spec.aws.region", "eu-west-1", "aws.region cannot change", id="region-immutable"
        ),
        pytest.param(
            "spec.endpointType", "Model", "endpointType cannot change", id="endpoint-type-immutable"
        ),
    ],
)
def test_immutable_fields_cannot_change(
    kubectl: Kubectl, field: str, value: str, message: str
) -> None:
    obj = valid()
    kubectl("create", "-f", "-", input=json.dumps(obj))
    changed = copy.deepcopy(obj)
    _set(field, value)(changed)
    if value == "Model":
        changed["spec"].pop("resources")
        changed["spec"]["instance"] = {"type": "ml.g5.12xlarge", "count": 1}
    result = kubectl("replace", "-f", "-", input=json.dumps(changed), check=False)
    assert result.returncode != 0
    assert message in result.stderr
    stored = kubectl.json("get", "llmendpoint", "valid")
    assert stored["spec"]["aws"]["region"] == "us-east-1"
    assert stored["spec"]["endpointType"] == "InferenceComponent"


def test_a_move_onto_a_pool_is_accepted_with_adapters_and_autoscaling(kubectl: Kubectl) -> None:
    """Both move with the model (their components and target are made anew on the pool's
    endpoint); only leaving a pool again is refused."""
    obj = valid()
    obj["spec"]["adapters"] = [{"name": "poet", "artifactUri": "s3://bucket-1/poet.tar.gz"}]
    obj["spec"]["autoscaling"] = {"minReplicas": 1, "maxReplicas": 2, "target": 4}
    kubectl("create", "-f", "-", input=json.dumps(obj))
    moved = copy.deepcopy(obj)
    del moved["spec"]["instance"]
    moved["spec"]["pool"] = {"name": "shared-g5", "namespace": "ml-platform"}
    kubectl("replace", "-f", "-", input=json.dumps(moved))
    stored = kubectl.json("get", "llmendpoint", "valid")
    assert stored["spec"]["pool"]["name"] == "shared-g5"
    assert stored["spec"]["adapters"][0]["name"] == "poet"
    assert stored["spec"]["autoscaling"]["maxReplicas"] == 2
    back = copy.deepcopy(obj)
    result = kubectl("replace", "-f", "-", input=json.dumps(back), check=False)
    assert result.returncode != 0
    assert "pool cannot be changed or removed" in result.stderr


def test_kubectl_scale_sets_copies_unless_autoscaling_owns_them(kubectl: Kubectl) -> None:
    """The scale subresource: `kubectl scale` works on fixed copies and is refused,
    with the reason, while spec.autoscaling is set or on a Model endpoint."""
    kubectl("create", "-f", "-", input=json.dumps(valid()))
    kubectl("scale", "llmendpoint/valid", "--replicas=3")
    assert kubectl.json("get", "llmendpoint", "valid")["spec"]["resources"]["copies"] == 3

    scaled = valid(name="scaled")
    scaled["spec"]["autoscaling"] = {"minReplicas": 1, "maxReplicas": 2, "target": 4}
    kubectl("create", "-f", "-", input=json.dumps(scaled))
    result = kubectl("scale", "llmendpoint/scaled", "--replicas=1", check=False)
    assert result.returncode != 0
    assert "resources.copies is managed by spec.autoscaling while it is set" in result.stderr
    assert kubectl.json("get", "llmendpoint", "scaled")["spec"]["resources"]["copies"] == 2

    # A Model endpoint has no copies: the scale subresource's write is refused, and the
    # message says what scales it instead.
    kubectl("create", "-f", "-", input=json.dumps(valid("Model", name="variant")))
    result = kubectl("scale", "llmendpoint/variant", "--replicas=3", check=False)
    assert result.returncode != 0
    assert "a Model endpoint scales by instance.count" in result.stderr
    stored = kubectl.json("get", "llmendpoint", "variant")["spec"]
    assert "resources" not in stored
    assert stored["instance"]["count"] == 1
