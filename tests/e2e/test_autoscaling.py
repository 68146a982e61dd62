"""spec.autoscaling end to end: the operator registers Application Auto Scaling and
CloudWatch resources in moto, the emulator's autoscaler acts on them, and the operator
never fights it; removal and deletion leave nothing behind.

The emulator runs with moto beside it (`--with-moto`). One AWS minute of autoscaling
time takes DELAY seconds.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_cluster.llmendpoints import condition
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses, OperatorIdentity, started_operator
from tests.plugins.recording_proxy import RecordingProxy
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e

DELAY = 0.1  # emulator seconds per transition and per AWS minute of autoscaling time
RESYNC = 2  # the operator's resync interval in seconds
PROMPT = json.dumps({"prompt": "hello", "max_tokens": 3}).encode()  # the example runs vLLM
UID_TAG = "llmoperator.io/uid"


@pytest.fixture
def scaling_emulator(emulators: EmulatorProcesses) -> Emulator:
    return emulators.fresh(delay=DELAY, args=["--with-moto"])


@pytest.fixture
def autoscaling_proxy(scaling_emulator: Emulator) -> Iterator[RecordingProxy]:
    """Between the operator and moto's Application Auto Scaling: records, can hold calls."""
    assert scaling_emulator.moto_url is not None
    proxy = RecordingProxy(scaling_emulator.moto_url)
    yield proxy
    proxy.close()


@pytest.fixture
def scaling_operator(
    operator_identity: OperatorIdentity,
    scaling_emulator: Emulator,
    autoscaling_proxy: RecordingProxy,
    namespace: str,
    tmp_path: Path,
) -> Iterator[Operator]:
    op = started_operator(
        operator_identity.kubeconfig,
        scaling_emulator,
        namespace,
        tmp_path / "operator.log",
        AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING=autoscaling_proxy.url,
        LLMOP_RESYNC_SECONDS=str(RESYNC),
    )
    yield op
    op.stop()
    print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")
    assert "Traceback" not in op.logs()


class Scaling:
    """What moto holds for Application Auto Scaling and CloudWatch."""

    def __init__(self, emulator: Emulator) -> None:
        assert emulator.moto_url is not None
        self.aas: Any = boto3_client(emulator.moto_url, "application-autoscaling")
        self.cw: Any = boto3_client(emulator.moto_url, "cloudwatch")

    def targets(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.aas.describe_scalable_targets(
            ServiceNamespace="sagemaker"
        )["ScalableTargets"]
        return found

    def policies(self) -> list[str]:
        return sorted(
            p["PolicyName"]
            for p in self.aas.describe_scaling_policies(ServiceNamespace="sagemaker")[
                "ScalingPolicies"
            ]
        )

    def alarms(self) -> list[str]:
        return sorted(a["AlarmName"] for a in self.cw.describe_alarms()["MetricAlarms"])

    def target_tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = self.aas.list_tags_for_resource(ResourceARN=arn)["Tags"]
        return tags

    def alarm_tags(self, arn: str) -> dict[str, str]:
        tags = self.cw.list_tags_for_resource(ResourceARN=arn)["Tags"]
        return {t["Key"]: t["Value"] for t in tags}


def autoscaled(name: str, **autoscaling: Any) -> dict[str, Any]:
    """The inference-component example, one copy per GPU, instances down to zero."""
    manifest = copy.deepcopy(llmendpoint("mistral-7b-inference-components"))
    manifest["metadata"]["name"] = name
    spec = manifest["spec"]
    spec["instance"].update(count=1, minCount=0, maxCount=2)
    spec["resources"]["copies"] = 1
    spec["autoscaling"] = {
        "minReplicas": 0,
        "maxReplicas": 4,
        "metric": "ConcurrentRequests",
        "target": 4,
        "scaleInCooldownSeconds": 300,
        "scaleOutCooldownSeconds": 0,
        **autoscaling,
    }
    return manifest


def patch(kubectl: Kubectl, name: str, spec: dict[str, Any]) -> None:
    kubectl("patch", "llmendpoint", name, "--type=merge", "-p", json.dumps({"spec": spec}))


def copies(sagemaker_api: SageMaker, component: str) -> tuple[int, int]:
    runtime = sagemaker_api.inference_component(component)["RuntimeConfig"]
    return runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]


def status_of(kubectl: Kubectl, name: str) -> dict[str, Any]:
    obj = get_llme(kubectl, name)
    assert obj is not None
    return dict(obj.get("status") or {})


def delete_and_expect_nothing_left(
    kubectl: Kubectl, name: str, operator: Operator, scaling: Scaling, sagemaker_api: SageMaker
) -> None:
    kubectl("delete", "llmendpoint", name, "--wait=false")
    wait_gone(kubectl, name, timeout=120, log=operator.log_tail)
    assert scaling.targets() == []
    assert scaling.policies() == []
    assert scaling.alarms() == []
    assert sagemaker_api.inventory().empty, sagemaker_api.inventory()


def wait_resyncs(admin: Any, operator: Operator, what: str, count: int = 3) -> None:
    """Until the operator has resynced `count` more times (each resync lists endpoints)."""
    before = admin.calls().get("ListEndpoints", 0)
    wait_for(
        lambda: admin.calls().get("ListEndpoints", 0) >= before + count,
        timeout=10 * RESYNC,
        what=what,
        diagnose=operator.log_tail,
    )


def wait_status(
    kubectl: Kubectl,
    name: str,
    check: Any,
    what: str,
    operator: Operator,
    timeout: float = 60,
    extra: Any = None,
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        return obj if obj is not None and check(obj) else None

    def diagnose() -> str:
        obj = get_llme(kubectl, name) or {}
        more = extra() if extra is not None else ""
        return f"{json.dumps(obj.get('status'), indent=1)}\n{more}\n{operator.log_tail(40)}"

    found: dict[str, Any] = wait_for(probe, timeout=timeout, what=what, diagnose=diagnose)
    return found


def test_autoscaling_scales_to_zero_and_back_and_is_never_fought(
    kubectl: Kubectl,
    scaling_operator: Operator,
    scaling_emulator: Emulator,
    namespace: str,
) -> None:
    sagemaker_api = SageMaker(scaling_emulator)
    scaling = Scaling(scaling_emulator)
    admin = scaling_emulator.admin_client
    runtime: Any = boto3_client(scaling_emulator.url, "sagemaker-runtime")
    name = "scaled"
    kubectl.apply(to_yaml(autoscaled(name, minReplicas=1)))
    obj = wait_ready(kubectl, name, log=scaling_operator.log_tail)
    uid = obj["metadata"]["uid"]
    status = obj["status"]
    base = status["inferenceComponents"][0]["name"]
    endpoint = status["endpointName"]

    # Registered and owned: the target and its target tracking policy.
    wait_for(
        lambda: scaling.policies() == [f"{endpoint}-target-tracking"],
        what="the target tracking policy",
        diagnose=scaling_operator.log_tail,
    )
    (target,) = scaling.targets()
    assert target["ResourceId"] == f"inference-component/{base}"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert scaling.target_tags(target["ScalableTargetARN"])[UID_TAG] == uid

    # Load raises copies; the operator leaves them alone for several resync intervals.
    admin.set_load(inference_component=base, concurrent_requests=12)
    wait_for(
        lambda: copies(sagemaker_api, base) == (3, 3),
        timeout=60,
        what="three copies for 12 concurrent requests at 4 per copy",
        diagnose=scaling_operator.log_tail,
    )
    fixes_before = admin.calls().get("UpdateInferenceComponentRuntimeConfig", 0)
    wait_resyncs(admin, scaling_operator, "three more resyncs of the operator")
    assert admin.calls().get("UpdateInferenceComponentRuntimeConfig", 0) == fixes_before
    assert copies(sagemaker_api, base) == (3, 3)
    status = wait_status(
        kubectl,
        name,
        lambda o: (o["status"].get("autoscaling") or {}).get("currentReplicas") == 3,
        "status to report the autoscaled copies",
        scaling_operator,
    )["status"]
    assert status["copies"] == {"desired": 3, "current": 3}
    assert status["replicas"] == 3
    assert status["autoscaling"]["desiredReplicas"] == 3
    assert (
        "Setting desired copy count to 3"
        in status["autoscaling"]["lastScalingActivity"]["description"]
    )

    # Scale to zero allowed: the step policy and the alarm that bring a copy back.
    patch(kubectl, name, {"autoscaling": {"minReplicas": 0}})
    wait_for(
        lambda: (
            scaling.policies() == [f"{endpoint}-from-zero", f"{endpoint}-target-tracking"]
            and f"{endpoint}-no-capacity" in scaling.alarms()
        ),
        what="the from-zero policy and the no-capacity alarm",
        diagnose=scaling_operator.log_tail,
    )
    alarm = scaling.cw.describe_alarms(AlarmNames=[f"{endpoint}-no-capacity"])["MetricAlarms"][0]
    assert scaling.alarm_tags(alarm["AlarmArn"])[UID_TAG] == uid

    # Load gone: copies and instances to zero, cost 0, Ready with reason ScaledToZero.
    admin.set_load(inference_component=base, concurrent_requests=0)
    obj = wait_status(
        kubectl,
        name,
        lambda o: (
            condition(o, "Ready").get("reason") == "ScaledToZero"
            and o["status"].get("instances", {}).get("current") == 0
        ),
        "scaled to zero with no instances",
        scaling_operator,
        timeout=90,
    )
    status = obj["status"]
    assert condition(obj, "Ready")["status"] == "True"
    assert status["autoscaling"]["scaledToZero"] is True
    assert status["estimatedHourlyCostUSD"] == "0.00"
    assert status["copiesSummary"] == "0/0"
    assert sagemaker_api.endpoint(endpoint)["ProductionVariants"][0]["CurrentInstanceCount"] == 0

    # Traffic returns: an invocation at zero fails; the alarm on those failures brings one
    # copy back (a client retrying its request is served once it is there), target
    # tracking keeps it for that traffic, and Ready returns.
    def invoke() -> bool:
        try:
            runtime.invoke_endpoint(
                EndpointName=endpoint,
                InferenceComponentName=base,
                Body=PROMPT,
                ContentType="application/json",
            )
        except runtime.exceptions.ValidationError as error:
            assert "no capacity" in str(error)
            return False
        return True

    admin.set_load(inference_component=base, concurrent_requests=2)  # traffic is back
    assert not invoke()
    wait_for(invoke, timeout=60, what="an invocation served again", interval=0.3)
    obj = wait_status(
        kubectl,
        name,
        lambda o: (
            condition(o, "Ready").get("reason") == "InService"
            and o["status"].get("copies") == {"desired": 1, "current": 1}
        ),
        "one copy back and Ready",
        scaling_operator,
        timeout=90,
        extra=lambda: repr(
            (
                [
                    (c["operation"], round(c["time"], 1), c["status"])
                    for c in admin.call_log(user_agent="sagemaker-llm-operator")[-25:]
                ],
                [
                    (c["operation"], round(c["time"], 1), c["error"])
                    for c in admin.call_log(operation="InvokeEndpoint")[-5:]
                ],
                sagemaker_api.client.list_inference_components()["InferenceComponents"],
                sagemaker_api.inference_component(base)["RuntimeConfig"],
                scaling.cw.describe_alarms(AlarmNames=[f"{endpoint}-no-capacity"]),
                admin.loads(),
                scaling.aas.describe_scaling_policies(ServiceNamespace="sagemaker"),
            )
        ),
    )
    assert obj["status"]["autoscaling"]["scaledToZero"] is False
    wait_status(
        kubectl,
        name,
        lambda o: float(o["status"].get("estimatedHourlyCostUSD") or 0) > 0,
        "the cost to follow the instance back",
        scaling_operator,
    )

    # A changed range clamps the count into it.
    patch(kubectl, name, {"autoscaling": {"minReplicas": 2, "maxReplicas": 4}})
    wait_for(
        lambda: copies(sagemaker_api, base) == (2, 2),
        timeout=60,
        what="copies clamped up to the new minimum",
        diagnose=scaling_operator.log_tail,
    )
    wait_for(
        lambda: [(t["MinCapacity"], t["MaxCapacity"]) for t in scaling.targets()] == [(2, 4)],
        what="the target's new range",
        diagnose=scaling_operator.log_tail,
    )
    # minReplicas above zero: the step policy and alarm are gone.
    wait_for(
        lambda: (
            scaling.policies() == [f"{endpoint}-target-tracking"]
            and f"{endpoint}-no-capacity" not in scaling.alarms()
        ),
        what="the from-zero policy and alarm removed",
        diagnose=scaling_operator.log_tail,
    )

    # Deleting leaves no target, policy or alarm, and no SageMaker resource.
    delete_and_expect_nothing_left(kubectl, name, scaling_operator, scaling, sagemaker_api)


def test_removing_autoscaling_restores_the_fixed_count_and_a_kill_converges(
    kubectl: Kubectl,
    scaling_operator: Operator,
    scaling_emulator: Emulator,
    autoscaling_proxy: RecordingProxy,
) -> None:
    sagemaker_api = SageMaker(scaling_emulator)
    scaling = Scaling(scaling_emulator)
    admin = scaling_emulator.admin_client
    name = "fixed"

    # kill -9 between registering the target and putting its policy: the proxy holds
    # PutScalingPolicy, unsent, while the operator dies.
    autoscaling_proxy.hold("PutScalingPolicy")
    kubectl.apply(to_yaml(autoscaled(name, minReplicas=1, maxReplicas=4)))
    wait_for(
        lambda: autoscaling_proxy.held() > 0,
        timeout=90,
        what="PutScalingPolicy sent after RegisterScalableTarget",
        diagnose=scaling_operator.log_tail,
    )
    scaling_operator.kill()
    autoscaling_proxy.drop_held()
    (target,) = scaling.targets()
    assert scaling.policies() == []
    assert scaling.target_tags(target["ScalableTargetARN"]).get(UID_TAG)

    since = autoscaling_proxy.mark()
    scaling_operator.start()
    scaling_operator.wait_healthy()
    obj = wait_ready(kubectl, name, log=scaling_operator.log_tail)
    base = obj["status"]["inferenceComponents"][0]["name"]
    endpoint = obj["status"]["endpointName"]
    wait_for(
        lambda: scaling.policies() == [f"{endpoint}-target-tracking"],
        what="the policy put after the restart",
        diagnose=scaling_operator.log_tail,
    )
    # The same target, not a second one nor a replacement, and one policy put.
    assert [t["ScalableTargetARN"] for t in scaling.targets()] == [target["ScalableTargetARN"]]
    puts = [c for c in autoscaling_proxy.calls(since) if c.operation == "PutScalingPolicy"]
    assert len(puts) == 1, [str(c) for c in autoscaling_proxy.calls(since)]

    # Load raises copies; removing autoscaling deregisters and returns to the fixed count.
    admin.set_load(inference_component=base, concurrent_requests=12)
    wait_for(
        lambda: copies(sagemaker_api, base) == (3, 3),
        timeout=60,
        what="three autoscaled copies",
        diagnose=scaling_operator.log_tail,
    )
    patch(kubectl, name, {"autoscaling": None})
    wait_for(
        lambda: copies(sagemaker_api, base) == (1, 1),
        timeout=60,
        what="the fixed count of one copy",
        diagnose=scaling_operator.log_tail,
    )
    wait_for(
        lambda: scaling.targets() == [] and scaling.policies() == [],
        what="target and policies removed",
        diagnose=scaling_operator.log_tail,
    )
    status = wait_ready(kubectl, name, log=scaling_operator.log_tail)["status"]
    assert status.get("autoscaling") is None
    assert status["copies"] == {"desired": 1, "current": 1}


def test_bounds_changed_by_hand_are_put_back_within_a_resync(
    kubectl: Kubectl,
    scaling_operator: Operator,
    scaling_emulator: Emulator,
    autoscaling_proxy: RecordingProxy,
) -> None:
    """RegisterScalableTarget 2..10 by hand over the spec's 1..3 lets the autoscaler spend
    outside the range. The region's target list, read again each resync, shows the bounds:
    they are put back within a resync or two, not after the ten of a cached Describe."""
    scaling = Scaling(scaling_emulator)
    admin = scaling_emulator.admin_client
    name = "bounded"
    kubectl.apply(to_yaml(autoscaled(name, minReplicas=1, maxReplicas=3)))
    obj = wait_ready(kubectl, name, log=scaling_operator.log_tail)
    endpoint = obj["status"]["endpointName"]
    wait_for(
        lambda: scaling.policies() == [f"{endpoint}-target-tracking"],
        what="the target tracking policy",
        diagnose=scaling_operator.log_tail,
    )
    (target,) = scaling.targets()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)

    def registered(since: int) -> list[tuple[int, int]]:
        return [
            (int(c.params["MinCapacity"]), int(c.params["MaxCapacity"]))
            for c in autoscaling_proxy.calls(since)
            if c.operation == "RegisterScalableTarget"
        ]

    # Twice: the first repair also means the region's targets were just listed, so the
    # second edit must not wait for a whole listing period of the old kind.
    for _ in range(2):
        wait_status(
            kubectl,
            name,
            lambda o: (o["status"].get("autoscaling") or {}).get("maxReplicas") == 3,
            "status to show the registered range 1..3",
            scaling_operator,
        )
        since = autoscaling_proxy.mark()
        resyncs = admin.calls().get("ListEndpoints", 0)
        scaling.aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target["ResourceId"],
            ScalableDimension=target["ScalableDimension"],
            MinCapacity=2,
            MaxCapacity=10,
        )
        wait_for(
            functools.partial(registered, since),
            timeout=60,
            what="the spec's range registered again",
            diagnose=scaling_operator.log_tail,
        )
        took = admin.calls().get("ListEndpoints", 0) - resyncs
        assert registered(since) == [(1, 3)]
        assert took <= 4, f"bounds put back after {took} inventory refreshes (resync {RESYNC} s)"
        (now,) = scaling.targets()
        assert (now["MinCapacity"], now["MaxCapacity"]) == (1, 3)


def instances(sagemaker_api: SageMaker, endpoint: str) -> tuple[int, int]:
    (variant,) = sagemaker_api.endpoint(endpoint)["ProductionVariants"]
    return variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]


def test_model_endpoint_autoscales_instances_and_keeps_them_across_a_new_config(
    kubectl: Kubectl,
    scaling_operator: Operator,
    scaling_emulator: Emulator,
) -> None:
    sagemaker_api = SageMaker(scaling_emulator)
    scaling = Scaling(scaling_emulator)
    admin = scaling_emulator.admin_client
    name = "variant"
    manifest = copy.deepcopy(llmendpoint("model-based-endpoint"))
    manifest["metadata"]["name"] = name
    manifest["spec"]["autoscaling"] = {
        "minReplicas": 1,
        "maxReplicas": 3,
        "metric": "ConcurrentRequests",
        "target": 4,
        "scaleInCooldownSeconds": 300,
        "scaleOutCooldownSeconds": 0,
    }
    kubectl.apply(to_yaml(manifest))
    obj = wait_ready(kubectl, name, log=scaling_operator.log_tail)
    uid = obj["metadata"]["uid"]
    endpoint = obj["status"]["endpointName"]
    first_config = obj["status"]["endpointConfigName"]

    # The variant's instances are the scalable target, tracked on the variant's metric.
    wait_for(
        lambda: scaling.policies() == [f"{endpoint}-target-tracking"],
        what="the target tracking policy",
        diagnose=scaling_operator.log_tail,
    )
    (target,) = scaling.targets()
    assert target["ResourceId"] == f"endpoint/{endpoint}/variant/AllTraffic"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    assert scaling.target_tags(target["ScalableTargetARN"])[UID_TAG] == uid
    (policy,) = scaling.aas.describe_scaling_policies(ServiceNamespace="sagemaker")[
        "ScalingPolicies"
    ]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    )
    assert tracking["TargetValue"] == 4
    # No scale to zero for a variant: only target tracking's own alarms, no no-capacity one.
    assert f"{endpoint}-no-capacity" not in scaling.alarms()

    # Load raises instances; the operator leaves them alone for several resync intervals.
    admin.set_load(endpoint=endpoint, variant="AllTraffic", concurrent_requests=12)
    wait_for(
        lambda: instances(sagemaker_api, endpoint) == (3, 3),
        timeout=60,
        what="three instances for 12 concurrent requests at 4 per instance",
        diagnose=scaling_operator.log_tail,
    )
    resets_before = admin.calls().get("UpdateEndpointWeightsAndCapacities", 0)
    wait_resyncs(admin, scaling_operator, "three more resyncs of the operator")
    # Only the emulator's autoscaler changes capacity (its calls are not the operator's).
    operator_calls = admin.call_log(user_agent="sagemaker-llm-operator")
    assert not [
        c
        for c in operator_calls
        if c["operation"] in ("UpdateEndpointWeightsAndCapacities", "UpdateEndpoint")
    ], "the operator reset the autoscaled instance count"
    assert instances(sagemaker_api, endpoint) == (3, 3)
    status = wait_status(
        kubectl,
        name,
        lambda o: (o["status"].get("autoscaling") or {}).get("currentReplicas") == 3,
        "status to report the autoscaled instances",
        scaling_operator,
    )["status"]
    assert status["instances"] == {"desired": 3, "current": 3}
    assert status["replicas"] == 3
    assert status["autoscaling"]["desiredReplicas"] == 3

    # A new endpoint config (another model environment) keeps the autoscaled count: the
    # update retains the variant's instances, so the autoscaler never has to scale out
    # again (without that, the new config's single instance would need a second scale-out).
    patch(kubectl, name, {"model": {"env": {"LOG_LEVEL": "debug"}}})
    obj = wait_status(
        kubectl,
        name,
        lambda o: (
            o["status"].get("observedGeneration") == o["metadata"]["generation"]
            and o["status"].get("endpointConfigName") not in (None, first_config)
            and o["status"].get("sagemakerStatus") == "InService"
            and condition(o, "Ready").get("status") == "True"
        ),
        "the endpoint on its new config",
        scaling_operator,
        timeout=90,
    )
    new_config = obj["status"]["endpointConfigName"]
    assert sagemaker_api.endpoint(endpoint)["EndpointConfigName"] == new_config
    wait_resyncs(admin, scaling_operator, "three resyncs on the new config")
    assert instances(sagemaker_api, endpoint) == (3, 3)
    activities = scaling.aas.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=target["ResourceId"]
    )["ScalingActivities"]
    assert [a["Description"] for a in activities] == ["Setting desired instance count to 3."], (
        activities
    )
    assert [t["ResourceId"] for t in scaling.targets()] == [target["ResourceId"]]
    # Nor did the operator set the count after the update.
    assert admin.calls().get("UpdateEndpointWeightsAndCapacities", 0) == resets_before

    # Deleting leaves no target, policy or alarm, and no SageMaker resource.
    delete_and_expect_nothing_left(kubectl, name, scaling_operator, scaling, sagemaker_api)


def test_a_horizontal_pod_autoscaler_can_target_an_llmendpoint(
    kubectl: Kubectl,
    scaling_operator: Operator,
    namespace: str,
) -> None:
    """The scale subresource carries the selector an HPA requires.

    No HPA controller runs here (the local control plane has no
    kube-controller-manager), so this shows what it would read, not that it scales.
    """
    name = "hpa-driven"
    manifest = copy.deepcopy(llmendpoint("mistral-7b-inference-components"))
    manifest["metadata"]["name"] = name
    manifest["spec"]["resources"]["copies"] = 2
    kubectl.apply(to_yaml(manifest))
    wait_ready(kubectl, name, log=scaling_operator.log_tail)

    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "llmoperator.io/v1alpha1",
                "kind": "LLMEndpoint",
                "name": name,
            },
            "minReplicas": 1,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {"name": "sagemaker_concurrent_requests_per_copy"},
                        "target": {"type": "AverageValue", "averageValue": "4"},
                    },
                }
            ],
        },
    }
    kubectl("create", "-f", "-", input=json.dumps(hpa))
    accepted = kubectl.json("get", "horizontalpodautoscaler", name)
    assert accepted["spec"]["scaleTargetRef"]["kind"] == "LLMEndpoint"

    scale = json.loads(
        kubectl(
            "get",
            "--raw",
            f"/apis/llmoperator.io/v1alpha1/namespaces/{namespace}/llmendpoints/{name}/scale",
        ).stdout
    )
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 2
    assert scale["status"] == {"replicas": 2, "selector": f"llmoperator.io/name={name}"}
