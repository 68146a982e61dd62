"""A crash with a request in flight, specs the operator cannot serve and requests SageMaker
rejects: converge without duplicates, say why, never hot-loop (the real operator against
the in-process emulator, whose faults and call counters the tests drive and read)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from local_cluster.llmendpoints import condition, is_ready
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import event_reasons, events, get_llme, patch_spec, wait_ready
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.recording_proxy import ALL, RecordingProxy

pytestmark = pytest.mark.e2e

EXPECTED_CREATES = {
    "CreateModel": 1,
    "CreateEndpointConfig": 1,
    "CreateEndpoint": 1,
    "CreateInferenceComponent": 1,
}


def create_calls(emulated_sagemaker: SageMakerEmulator) -> dict[str, int]:
    return {k: v for k, v in emulated_sagemaker.admin.calls().items() if k.startswith("Create")}


def one_of_each(emulated_sagemaker: SageMakerEmulator) -> None:
    names = emulated_sagemaker.names()
    assert {kind: len(found) for kind, found in names.items()} == {
        "models": 1,
        "endpoint_configs": 1,
        "endpoints": 1,
        "inference_components": 1,
    }, names


def test_killed_between_aws_calls_then_restarted_converges_without_duplicates(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    """SIGKILL while CreateEndpoint is in flight: the model and config exist, the status
    says nothing about them yet; the restarted operator adopts them (its uid tag) and
    creates nothing twice."""
    emulated_sagemaker.admin.faults(latency_seconds=3.0, operations=["CreateEndpoint"])
    op = run_operator()
    kubectl.apply(to_yaml(llmendpoint("mistral-7b-inference-components")))
    wait_for(
        lambda: emulated_sagemaker.admin.calls().get("CreateEndpoint") == 1,
        what="CreateEndpoint to be in flight",
    )
    op.kill()
    wait_for(
        lambda: emulated_sagemaker.names()["endpoints"], what="the in-flight endpoint to exist"
    )
    emulated_sagemaker.admin.clear_faults()
    assert "endpointArn" not in (get_llme(kubectl, "mistral-7b") or {}).get("status", {})

    op.start().wait_healthy()
    wait_ready(kubectl, "mistral-7b")
    assert create_calls(emulated_sagemaker) == EXPECTED_CREATES
    one_of_each(emulated_sagemaker)


def test_invalid_specs_are_degraded_with_an_event_and_no_hot_loop(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    op = run_operator()
    # Passes the CRD, but its token Secret does not exist.
    missing_secret = llmendpoint("gated-model-with-token")
    missing_secret["metadata"]["name"] = "no-secret"
    missing_secret["spec"]["model"]["hfTokenSecretRef"] = {"name": "absent", "key": "token"}
    kubectl.apply(to_yaml(missing_secret))
    # Passes the CRD, but 8 one-GPU copies cannot fit one 4-GPU instance.
    too_many = llmendpoint("mistral-7b-inference-components", resources={"copies": 8})
    too_many["metadata"]["name"] = "too-many-copies"
    too_many["spec"]["instance"].update(minCount=1, maxCount=1)
    kubectl.apply(to_yaml(too_many))

    for name, reason in (("no-secret", "SecretNotFound"), ("too-many-copies", None)):

        def degraded(name: str = name) -> dict[str, Any] | None:
            c = condition(get_llme(kubectl, name), "Degraded")
            return c if c.get("status") == "True" else None

        found = wait_for(degraded, what=f"{name} to be Degraded")
        if reason:
            assert found["reason"] == reason
        assert (get_llme(kubectl, name) or {})["status"]["phase"] == "Failed"

        # The Event is posted beside the status patch, not before it: wait for it too.
        def warnings(name: str = name) -> list[dict[str, Any]] | None:
            return [e for e in events(kubectl, name) if e["type"] == "Warning"] or None

        wait_for(warnings, what=f"a Warning Event for {name}")
    assert create_calls(emulated_sagemaker) == {}
    degraded_passes = op.metric("llmop_reconciles_total", result="degraded")
    assert degraded_passes >= 2

    # Meanwhile a valid resource goes all the way to Ready (many fast polls): the
    # degraded ones are not retried in the meantime, and nothing crashed.
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hf-token"},
        "data": {"token": base64.b64encode(b"hf_VerySecretTokenValue123").decode()},
    }
    kubectl.apply(json.dumps(secret))
    kubectl.apply(to_yaml(llmendpoint("gated-model-with-token")))
    ready = wait_ready(kubectl, "llama-3-8b")
    assert op.metric("llmop_reconciles_total", result="degraded") == degraded_passes
    assert op.running

    # The token reached SageMaker (the container needs it) and nowhere else.
    model = emulated_sagemaker.client().describe_model(ModelName=ready["status"]["modelName"])
    assert "hf_VerySecretTokenValue123" in json.dumps(model, default=str)
    shown = json.dumps([ready, events(kubectl, "llama-3-8b")])
    assert "hf_VerySecretTokenValue123" not in shown
    assert "hf_VerySecretTokenValue123" not in op.logs()
    assert "CreateModel" in event_reasons(kubectl, "llama-3-8b")

    # Resources that never rendered (or lost their Secret) can still be deleted.
    kubectl("delete", "llmendpoint", "no-secret", "too-many-copies", "--wait=false")
    for name in ("no-secret", "too-many-copies"):

        def gone(name: str = name) -> bool:
            return get_llme(kubectl, name) is None

        wait_for(gone, what=f"{name} to be gone")


def test_a_request_sagemaker_rejects_is_reported_once_and_not_resent(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    emulated_sagemaker.admin.faults(instance_limits={"ml.g5.12xlarge": 0})
    run_operator()
    kubectl.apply(to_yaml(llmendpoint("mistral-7b-inference-components")))

    def degraded() -> dict[str, Any] | None:
        c = condition(get_llme(kubectl, "mistral-7b"), "Degraded")
        return c if c.get("status") == "True" else None

    found = wait_for(degraded, what="the quota rejection to show as Degraded")
    assert found["reason"] == "Rejected"
    assert "account-level service limit" in found["message"]
    assert "CreateEndpointFailed" in event_reasons(kubectl, "mistral-7b")
    # The same request is not sent again while the spec stays the same...
    assert emulated_sagemaker.admin.calls()["CreateEndpoint"] == 1

    # ...but a changed spec is tried: a type with quota left goes all the way.
    patch_spec(kubectl, "mistral-7b", {"instance": {"type": "ml.g5.24xlarge"}})
    obj = wait_ready(kubectl, "mistral-7b")
    assert emulated_sagemaker.admin.calls()["CreateEndpoint"] == 2
    assert condition(obj, "Degraded")["status"] == "False"
    # The rejected config was removed.
    assert len(emulated_sagemaker.names()["endpoint_configs"]) == 1


def test_sagemaker_not_answering_is_said_once_per_outage_and_nothing_is_sent_twice(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    """SageMaker's connections hang (a proxy that accepts and never answers): a spec
    change and a new LLMEndpoint say AwsUnreachable with the error's kind, the generation
    they wait with and the last contact, one Warning each for the whole outage; once
    SageMaker answers again both converge with nothing created twice."""
    proxy = RecordingProxy(emulated_sagemaker.url)
    try:
        op = run_operator(
            AWS_ENDPOINT_URL_SAGEMAKER=proxy.url,
            LLMOP_AWS_CONNECT_TIMEOUT_SECONDS="2",
            LLMOP_AWS_READ_TIMEOUT_SECONDS="2",
            LLMOP_RESYNC_SECONDS="2",
        )
        kubectl.apply(to_yaml(llmendpoint("mistral-7b-inference-components")))
        wait_ready(kubectl, "mistral-7b", log=op.log_tail)

        proxy.hold(ALL)  # from now on SageMaker does not answer
        patch_spec(kubectl, "mistral-7b", {"resources": {"copies": 2}})
        fresh = llmendpoint("mistral-7b-inference-components")
        fresh["metadata"]["name"] = "fresh"
        kubectl.apply(to_yaml(fresh))

        def said(name: str, generation: int) -> dict[str, Any] | None:
            obj = get_llme(kubectl, name) or {}
            status = obj.get("status") or {}
            progressing = condition(obj, "Progressing") or {}
            if status.get("observedGeneration") != generation:
                return None
            if progressing.get("reason") != "AwsUnreachable":
                return None
            return obj

        changed = wait_for(
            lambda: said("mistral-7b", 2), what="the spec change to say AwsUnreachable"
        )
        created = wait_for(lambda: said("fresh", 1), what="the new one to say AwsUnreachable")
        for obj in (changed, created):
            progressing = condition(obj, "Progressing")
            assert progressing["status"] == "True"
            assert "(timeout: " in progressing["message"], progressing
            assert f"generation {obj['metadata']['generation']} waits" in progressing["message"]
            # The last answer was the one before the outage (same account and region).
            assert obj["status"]["aws"]["lastContactTime"] in progressing["message"]
        # Neither generation is known to be applied: not Ready for it, not Degraded;
        # the phase is the last known one.
        for obj in (changed, created):
            assert not is_ready(obj)
            for kind in ("Ready", "Degraded"):
                assert condition(obj, kind)["status"] == "Unknown", obj["status"]
        assert changed["status"]["phase"] == "InService"
        assert created["status"]["phase"] == "Pending"

        # Several more passes fail (each waits for botocore's retries); the operator stays
        # healthy and says it once per LLMEndpoint, not once per pass.
        held = proxy.held()
        wait_for(lambda: proxy.held() >= held + 12, what="more passes without an answer")
        assert op.healthy()
        for name in ("mistral-7b", "fresh"):
            warnings = [
                e
                for e in events(kubectl, name)
                if e["reason"] == "AwsUnreachable" and e["type"] == "Warning"
            ]
            assert len(warnings) == 1, warnings

        proxy.drop_held()  # SageMaker answers again
        for name in ("mistral-7b", "fresh"):
            status = wait_ready(kubectl, name, log=op.log_tail)["status"]
            assert status.get("aws") is None, status
        wait_for(
            lambda: (
                (get_llme(kubectl, "mistral-7b") or {}).get("status", {}).get("copies")
                == {"desired": 2, "current": 2}
            ),
            what="two copies",
        )
        wait_for(
            lambda: all(
                "AwsReachable" in event_reasons(kubectl, name) for name in ("mistral-7b", "fresh")
            ),
            what="an AwsReachable Event for each",
        )
        # One of each per LLMEndpoint: nothing held during the outage was sent afterwards.
        names = emulated_sagemaker.names()
        assert {kind: len(found) for kind, found in names.items()} == {
            "models": 2,
            "endpoint_configs": 2,
            "endpoints": 2,
            "inference_components": 2,
        }, names
    finally:
        proxy.close()
