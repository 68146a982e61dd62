"""Crashes, restarts and invalid specs: converge without duplicates, never hot-loop."""

from __future__ import annotations

import base64
import json
from typing import Any

from local_cluster.waiting import wait_for
from tests.integration.test_lifecycle import (
    apply,
    condition,
    create_calls,
    event_reasons,
    events,
    example,
    get,
    wait_ready,
)
from tests.plugins.operator_fixtures import SageMakerEmulator

EXPECTED_CREATES = {
    "CreateModel": 1,
    "CreateEndpointConfig": 1,
    "CreateEndpoint": 1,
    "CreateInferenceComponent": 1,
}


def one_of_each(emulated_sagemaker: SageMakerEmulator) -> None:
    names = emulated_sagemaker.names()
    assert {kind: len(found) for kind, found in names.items()} == {
        "models": 1,
        "endpoint_configs": 1,
        "endpoints": 1,
        "inference_components": 1,
    }, names


def test_killed_between_aws_calls_then_restarted_converges_without_duplicates(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    """SIGKILL while CreateEndpoint is in flight: the model and config exist, the status
    says nothing about them yet; the restarted operator adopts them (its uid tag) and
    creates nothing twice."""
    emulated_sagemaker.admin.faults(latency_seconds=3.0, operations=["CreateEndpoint"])
    op = run_operator()
    apply(kubectl, example("mistral-7b-inference-components.yaml"))
    wait_for(
        lambda: emulated_sagemaker.admin.calls().get("CreateEndpoint") == 1,
        what="CreateEndpoint to be in flight",
    )
    op.kill()
    wait_for(
        lambda: emulated_sagemaker.names()["endpoints"], what="the in-flight endpoint to exist"
    )
    emulated_sagemaker.admin.clear_faults()
    assert "endpointArn" not in (get(kubectl, "mistral-7b") or {}).get("status", {})

    op.start().wait_healthy()
    wait_ready(kubectl, "mistral-7b")
    assert create_calls(emulated_sagemaker) == EXPECTED_CREATES
    one_of_each(emulated_sagemaker)


def test_killed_while_a_component_is_creating_then_restarted_converges(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    emulated_sagemaker.admin.faults(stuck=[{"resource": "inference_component"}])
    op = run_operator()
    apply(kubectl, example("mistral-7b-inference-components.yaml"))

    def creating() -> bool:
        obj = get(kubectl, "mistral-7b")
        components = (obj or {}).get("status", {}).get("inferenceComponents") or []
        return bool(components) and components[0].get("status") == "Creating"

    wait_for(creating, what="the inference component to be Creating")
    op.kill()
    emulated_sagemaker.admin.clear_faults()

    op.start().wait_healthy()
    wait_ready(kubectl, "mistral-7b")
    assert create_calls(emulated_sagemaker) == EXPECTED_CREATES
    one_of_each(emulated_sagemaker)


def test_invalid_specs_are_degraded_with_an_event_and_no_hot_loop(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    op = run_operator()
    # Passes the CRD, but its token Secret does not exist.
    missing_secret = example("gated-model-with-token.yaml")
    missing_secret["metadata"]["name"] = "no-secret"
    missing_secret["spec"]["model"]["hfTokenSecretRef"] = {"name": "absent", "key": "token"}
    apply(kubectl, missing_secret)
    # Passes the CRD, but 8 one-GPU copies cannot fit one 4-GPU instance.
    too_many = example("mistral-7b-inference-components.yaml", resources={"copies": 8})
    too_many["metadata"]["name"] = "too-many-copies"
    too_many["spec"]["instance"].update(minCount=1, maxCount=1)
    apply(kubectl, too_many)

    for name, reason in (("no-secret", "SecretNotFound"), ("too-many-copies", None)):

        def degraded(name: str = name) -> dict[str, Any] | None:
            c = condition(get(kubectl, name), "Degraded")
            return c if c and c["status"] == "True" else None

        found = wait_for(degraded, what=f"{name} to be Degraded")
        if reason:
            assert found["reason"] == reason
        assert get(kubectl, name)["status"]["phase"] == "Failed"  # type: ignore[index]
        warnings = [e for e in events(kubectl, name) if e["type"] == "Warning"]
        assert warnings, f"no Warning event for {name}"
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
    apply(kubectl, example("gated-model-with-token.yaml"))
    wait_ready(kubectl, "llama-3-8b")
    assert op.metric("llmop_reconciles_total", result="degraded") == degraded_passes
    assert op.running

    # The token reached SageMaker (the container needs it) and nowhere else.
    model = emulated_sagemaker.client().describe_model(
        ModelName=get(kubectl, "llama-3-8b")["status"]["modelName"]  # type: ignore[index]
    )
    assert "hf_VerySecretTokenValue123" in json.dumps(model, default=str)
    shown = json.dumps([get(kubectl, "llama-3-8b"), events(kubectl, "llama-3-8b")])
    assert "hf_VerySecretTokenValue123" not in shown
    assert "hf_VerySecretTokenValue123" not in op.logs()
    assert "CreateModel" in event_reasons(kubectl, "llama-3-8b")

    # Resources that never rendered (or lost their Secret) can still be deleted.
    kubectl("delete", "llmendpoint", "no-secret", "too-many-copies", "--wait=false")
    for name in ("no-secret", "too-many-copies"):

        def gone(name: str = name) -> bool:
            return get(kubectl, name) is None

        wait_for(gone, what=f"{name} to be gone")


def test_a_request_sagemaker_rejects_is_reported_once_and_not_resent(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    emulated_sagemaker.admin.faults(instance_limits={"ml.g5.12xlarge": 0})
    run_operator()
    apply(kubectl, example("mistral-7b-inference-components.yaml"))

    def degraded() -> dict[str, Any] | None:
        c = condition(get(kubectl, "mistral-7b"), "Degraded")
        return c if c and c["status"] == "True" else None

    found = wait_for(degraded, what="the quota rejection to show as Degraded")
    assert found["reason"] == "Rejected"
    assert "account-level service limit" in found["message"]
    assert "CreateEndpointFailed" in event_reasons(kubectl, "mistral-7b")
    # The same request is not sent again while the spec stays the same...
    assert emulated_sagemaker.admin.calls()["CreateEndpoint"] == 1

    # ...but a changed spec is tried: a type with quota left goes all the way.
    kubectl(
        "patch",
        "llmendpoint",
        "mistral-7b",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"instance": {"type": "ml.g5.24xlarge"}}}),
    )
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert emulated_sagemaker.admin.calls()["CreateEndpoint"] == 2
    assert condition({"status": status}, "Degraded")["status"] == "False"  # type: ignore[index]
    assert (
        len(emulated_sagemaker.names()["endpoint_configs"]) == 1
    )  # the rejected config was removed
