"""Ownership: the operator writes to a SageMaker resource only when the resource's
`llmoperator.io/uid` tag names the LLMEndpoint (read from SageMaker's tags, never
inferred from a name or from status). Anything else with a name the operator wants is
a NameConflict: Ready=False and Degraded=True with reason NameConflict, a Warning
Event naming the resource, no call for it to SageMaker, and it survives
`kubectl delete llme` unchanged. Plus drift (a model deleted behind the operator's
back is re-created) and apply-time refusal of a typo'd region and of tag values
SageMaker would reject.

Every write the operator sends is seen by a recording proxy between the operator and
the test's emulator (`tests.plugins.recording_proxy`): operation, User-Agent and parameters of each
call, so "no write touched this resource" is asserted per resource name.

How each probe fails against the operator of commit 8b1b177 (before the ownership fix):
1. untagged endpoint with the derived name: adopted. UpdateEndpoint to the operator's
   config, CreateInferenceComponent on it, the hand-made component on it deleted,
   Ready=True; `kubectl delete` deletes the endpoint and its hand-made config.
2. untagged `<prefix>-base` component on a hand-made endpoint: adopted and updated
   (UpdateInferenceComponent), the hand-made model deleted (DeleteModel), Ready=True
   while the operator's own endpoint has no component.
3. untagged model with the content-hashed model name: used as is (its
   CreateInferenceComponent names it), Ready=True, no NameConflict; DeleteModel when
   the LLMEndpoint is deleted.
4. adapter component tagged for another owner: DeleteInferenceComponent and a new
   CreateInferenceComponent of that name, then Ready=True, no NameConflict.
5. two LLMEndpoints whose names collided under the old naming: they share one
   component name; the second to reach it is NameConflict (phase Failed), never Ready.
6. model deleted behind the operator's back: never re-created, status stays Ready, no
   ResourceMissing Event (both endpoint types).
7. `aws.region: us-eats-1`: accepted by the API server.
8. an emoji in an `aws.tags` value: accepted by the API server.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from llm_operator.core import naming
from local_cluster.cluster import LocalCluster
from local_cluster.llmendpoints import condition, is_failed, is_ready
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import events as llme_events
from tests.plugins.llmendpoints import get_llme
from tests.plugins.operator_fixtures import OperatorIdentity, started_operator
from tests.plugins.recording_proxy import Call, RecordingProxy, strings
from tests.plugins.sagemaker import (
    MANAGED_BY,
    OWNER_NAME,
    OWNER_NAMESPACE,
    OWNER_UID,
    SageMaker,
)

pytestmark = pytest.mark.e2e

# Short, so that "within one resync" and "over three resyncs" stay quick.
RESYNC_SECONDS = 3.0
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
)
ARN_KINDS = {
    "Model": "model",
    "EndpointConfig": "endpoint-config",
    "Endpoint": "endpoint",
    "InferenceComponent": "inference-component",
}


# --- every SageMaker call the operator makes, per resource --------------------------


def touches(call: Call, kind: str, name: str) -> bool:
    """The call names this resource, as its target or as a reference in a new one.

    A Create of the very name that SageMaker refused (it exists) changed nothing:
    it is how anyone learns of a name taken between a List and a Create, so it
    does not count; using the resource, or any Update/Delete/AddTags, does.
    """
    if (
        call.operation == f"Create{kind}"
        and call.params.get(f"{kind}Name") == name
        and call.status >= 400
    ):
        return False
    arn_end = f":{ARN_KINDS[kind]}/{name}".lower()
    for key, value in strings(call.params):
        if key in (f"{kind}Name", f"Base{kind}Name") and value == name:
            return True
        if key == "ResourceArn" and value.lower().endswith(arn_end):
            return True
    return False


class CallRecorder(RecordingProxy):
    """The proxy in front of the emulator, asked about the operator's writes."""

    def operator_writes(self, since: int = 0) -> list[Call]:
        return [c for c in self.calls(since) if c.by_operator and c.is_write]

    def writes_touching(self, kind: str, name: str, since: int = 0) -> list[Call]:
        return [c for c in self.operator_writes(since) if touches(c, kind, name)]

    def log(self, since: int = 0) -> str:
        writes = [c for c in self.calls(since) if c.is_write]
        return "\n".join(f"  {c}" for c in writes) or "  (no write calls)"


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture
def recorder(emulator_process: Emulator) -> Iterator[CallRecorder]:
    proxy = CallRecorder(emulator_process.url)
    yield proxy
    proxy.close()


@pytest.fixture
def start_operator(
    operator_identity: OperatorIdentity,
    emulator_process: Emulator,
    recorder: CallRecorder,
    tmp_path: Path,
) -> Iterator[Callable[..., Operator]]:
    """Starts the operator watching the given namespaces, its SageMaker calls recorded."""
    started: list[Operator] = []

    def start(*namespaces: str) -> Operator:
        op = started_operator(
            operator_identity.kubeconfig,
            emulator_process,
            namespaces,
            tmp_path / "operator.log",
            AWS_ENDPOINT_URL_SAGEMAKER=recorder.url,
            LLMOP_RESYNC_SECONDS=str(RESYNC_SECONDS),
        )
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()
        # Shown by pytest only when the test failed.
        print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")


@pytest.fixture
def op(start_operator: Callable[..., Operator], namespace: str) -> Operator:
    return start_operator(namespace)


@pytest.fixture
def sm(sagemaker_api: SageMaker) -> Any:
    """boto3 as a user at the console would use it (not through the recorder)."""
    return sagemaker_api.client


# --- LLMEndpoints, hand-made resources, checks ---------------------------------------


def ic_manifest(name: str, adapters: tuple[str, ...] = ()) -> dict[str, Any]:
    """An InferenceComponent LLMEndpoint (the lora-adapters example) with these adapters."""
    manifest = llmendpoint("lora-adapters")
    manifest["metadata"]["name"] = name
    spec = manifest["spec"]
    spec.pop("adapters", None)
    if adapters:
        spec["adapters"] = [
            {"name": a, "artifactUri": f"s3://my-model-bucket/adapters/{a}.tar.gz"}
            for a in adapters
        ]
    return manifest


def model_manifest(name: str) -> dict[str, Any]:
    manifest = llmendpoint("model-based-endpoint")
    manifest["metadata"]["name"] = name
    return manifest


def make_model(sm: Any, name: str, tags: dict[str, str] | None = None) -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": IMAGE, "Environment": {"HF_MODEL_ID": "my-org/my-model"}},
        ExecutionRoleArn=ROLE,
        **_tags(tags),
    )


def make_component_endpoint(sm: Any, endpoint: str, config: str) -> None:
    """A hand-made endpoint for inference components, InService on return."""
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    wait_status(sm, "Endpoint", endpoint, "InService")


def make_component(
    sm: Any, name: str, endpoint: str, model: str, tags: dict[str, str] | None = None
) -> None:
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification={
            "ModelName": model,
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        RuntimeConfig={"CopyCount": 1},
        **_tags(tags),
    )
    wait_status(sm, "InferenceComponent", name, "InService")


def _tags(tags: dict[str, str] | None) -> dict[str, Any]:
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}


def _describe(sm: Any, kind: str, name: str) -> dict[str, Any] | None:
    call = {
        "Model": lambda: sm.describe_model(ModelName=name),
        "EndpointConfig": lambda: sm.describe_endpoint_config(EndpointConfigName=name),
        "Endpoint": lambda: sm.describe_endpoint(EndpointName=name),
        "InferenceComponent": lambda: sm.describe_inference_component(InferenceComponentName=name),
    }[kind]
    try:
        return dict(call())
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def wait_status(sm: Any, kind: str, name: str, status: str) -> None:
    key = f"{kind}Status"
    wait_for(
        lambda: (_describe(sm, kind, name) or {}).get(key) == status,
        timeout=60,
        what=f"{kind} {name} {status}",
        diagnose=lambda: repr(_describe(sm, kind, name)),
    )


# What must not change about a resource the operator does not own.
_KEPT = {
    "Model": ("PrimaryContainer", "ExecutionRoleArn"),
    "EndpointConfig": ("ProductionVariants",),
    "Endpoint": ("EndpointConfigName", "EndpointStatus"),
    "InferenceComponent": (
        "EndpointName",
        "Specification",
        "InferenceComponentStatus",
        "RuntimeConfig",
    ),
}


def snapshot(api: SageMaker, kind: str, name: str) -> dict[str, Any] | None:
    """The resource's settings and tags; None when it is gone."""
    found = _describe(api.client, kind, name)
    if found is None:
        return None
    arn = found[f"{kind}Arn"]
    return {**{k: found.get(k) for k in _KEPT[kind]}, "Tags": api.tags(arn)}


def settled(obj: dict[str, Any] | None) -> bool:
    """The operator has made up its mind about the current generation."""
    if obj is None:
        return False
    if is_ready(obj) or is_failed(obj):
        return True
    status = obj.get("status") or {}
    reasons = {condition(obj, "Ready").get("reason"), condition(obj, "Degraded").get("reason")}
    return status.get("observedGeneration") == obj["metadata"]["generation"] and (
        "NameConflict" in reasons
    )


def wait_settled(
    kubectl: Kubectl, name: str, op: Operator, recorder: CallRecorder, timeout: float = 90.0
) -> dict[str, Any]:
    def diagnose() -> str:
        obj = get_llme(kubectl, name)
        return (
            f"status: {json.dumps((obj or {}).get('status'), indent=1)}\n"
            f"--- SageMaker writes ---\n{recorder.log()}\n"
            f"--- operator log ---\n{op.log_tail()}"
        )

    def probe() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        return obj if settled(obj) else None

    found: dict[str, Any] = wait_for(
        probe, timeout=timeout, what=f"LLMEndpoint {name} Ready or NameConflict", diagnose=diagnose
    )
    return found


def events(kubectl: Kubectl, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Events of this LLMEndpoint (this uid: not of an earlier one with the same name)."""
    name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
    return [e for e in llme_events(kubectl, name) if e["involvedObject"].get("uid") == uid]


def event_lines(items: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {e.get('type')} {e.get('reason')}: {e.get('message')}" for e in items)


def wait_event(
    kubectl: Kubectl, obj: dict[str, Any], reason: str, mentions: str, timeout: float = 15.0
) -> bool:
    def seen() -> bool:
        return any(
            e.get("type") == "Warning"
            and e.get("reason") == reason
            and mentions in (e.get("message") or "")
            for e in events(kubectl, obj)
        )

    try:
        wait_for(seen, timeout=timeout, what=f"a Warning {reason} Event naming {mentions}")
    except Exception:
        return False
    return True


def conflict_problems(kubectl: Kubectl, obj: dict[str, Any], resource: str) -> list[str]:
    """What is missing from the NameConflict the operator must report for `resource`."""
    problems = []
    ready, degraded = condition(obj, "Ready"), condition(obj, "Degraded")
    if (ready.get("status"), ready.get("reason")) != ("False", "NameConflict"):
        problems.append(f"Ready is {ready}, want status False, reason NameConflict")
    if (degraded.get("status"), degraded.get("reason")) != ("True", "NameConflict"):
        problems.append(f"Degraded is {degraded}, want status True, reason NameConflict")
    if not wait_event(kubectl, obj, "NameConflict", resource, timeout=15 if not problems else 1):
        problems.append(
            f"no Warning NameConflict Event naming {resource}; its Events:\n"
            + event_lines(events(kubectl, obj))
        )
    return problems


def untouched_problems(
    recorder: CallRecorder, since: int, resources: list[tuple[str, str]]
) -> list[str]:
    problems = []
    for kind, name in resources:
        writes = recorder.writes_touching(kind, name, since)
        if writes:
            problems.append(
                f"the operator wrote to {kind} {name}:\n" + "\n".join(f"  {c}" for c in writes)
            )
    return problems


def delete_problems(
    kubectl: Kubectl, name: str, api: SageMaker, before: dict[tuple[str, str], Any]
) -> list[str]:
    """Delete the LLMEndpoint; the resources it does not own must stay as they were."""
    problems = []
    deleted = kubectl("delete", "llmendpoint", name, "--timeout=120s", check=False)
    if deleted.returncode != 0 or get_llme(kubectl, name) is not None:
        problems.append(f"kubectl delete did not complete: {deleted.stderr.strip()}")
    for (kind, resource), was in before.items():
        now = snapshot(api, kind, resource)
        if now != was:
            problems.append(
                f"after kubectl delete, {kind} {resource} changed:\n  before {was}\n  after  {now}"
            )
    return problems


def report(
    problems: list[str],
    recorder: CallRecorder,
    since: int = 0,
    obj: dict[str, Any] | None = None,
) -> None:
    if not problems:
        return
    status = json.dumps((obj or {}).get("status"), indent=1)
    raise AssertionError(
        "\n".join(f"- {p}" for p in problems)
        + f"\n--- status ---\n{status}"
        + "\n--- SageMaker write calls since the LLMEndpoint was applied ---\n"
        + recorder.log(since)
    )


# --- 1-4: a name the operator wants, taken by something it does not own --------------


def test_untagged_endpoint_with_the_derived_name_is_left_alone(
    kubectl: Kubectl,
    namespace: str,
    op: Operator,
    sm: Any,
    sagemaker_api: SageMaker,
    recorder: CallRecorder,
) -> None:
    """Today: adopted (UpdateEndpoint to the operator's config, its component created on
    it, the hand-made component deleted), Ready=True, and deleted by `kubectl delete`."""
    name = "probe"
    endpoint = naming.endpoint_name(namespace, name)
    make_model(sm, "hand-made-model")
    make_component_endpoint(sm, endpoint, "hand-made-config")
    make_component(sm, "hand-made-component", endpoint, "hand-made-model")
    mine = [
        ("Endpoint", endpoint),
        ("EndpointConfig", "hand-made-config"),
        ("InferenceComponent", "hand-made-component"),
        ("Model", "hand-made-model"),
    ]
    before = {r: snapshot(sagemaker_api, *r) for r in mine}

    since = recorder.mark()
    kubectl.apply(to_yaml(ic_manifest(name)))
    obj = wait_settled(kubectl, name, op, recorder)
    problems = conflict_problems(kubectl, obj, endpoint)
    problems += untouched_problems(recorder, since, mine)
    problems += delete_problems(kubectl, name, sagemaker_api, before)
    problems += untouched_problems(recorder, since, mine)
    report(problems, recorder, since, obj)


def test_untagged_base_component_with_the_derived_name_is_left_alone(
    kubectl: Kubectl,
    namespace: str,
    op: Operator,
    sm: Any,
    sagemaker_api: SageMaker,
    recorder: CallRecorder,
) -> None:
    """Today: UpdateInferenceComponent on it, DeleteModel of the hand-made model it
    served, and Ready=True although the operator's own endpoint has no component."""
    name = "probe"
    base = naming.base_component_name(namespace, name)
    make_model(sm, "weights-by-hand")
    make_component_endpoint(sm, "endpoint-by-hand", "config-by-hand")
    make_component(sm, base, "endpoint-by-hand", "weights-by-hand")
    mine = [
        ("InferenceComponent", base),
        ("Model", "weights-by-hand"),
        ("Endpoint", "endpoint-by-hand"),
        ("EndpointConfig", "config-by-hand"),
    ]
    before = {r: snapshot(sagemaker_api, *r) for r in mine}

    since = recorder.mark()
    kubectl.apply(to_yaml(ic_manifest(name)))
    obj = wait_settled(kubectl, name, op, recorder)
    problems = conflict_problems(kubectl, obj, base)
    own_endpoint = naming.endpoint_name(namespace, name)
    on_own = sm.list_inference_components(EndpointNameEquals=own_endpoint)["InferenceComponents"]
    if condition(obj, "Ready").get("status") == "True" and not on_own:
        problems.append(f"Ready=True while its endpoint {own_endpoint} has no inference component")
    problems += untouched_problems(recorder, since, mine)
    problems += delete_problems(kubectl, name, sagemaker_api, before)
    problems += untouched_problems(recorder, since, mine)
    report(problems, recorder, since, obj)


def test_untagged_model_with_the_wanted_model_name_is_never_used(
    kubectl: Kubectl,
    op: Operator,
    sm: Any,
    sagemaker_api: SageMaker,
    recorder: CallRecorder,
) -> None:
    """Today: used as is (Ready=True, no NameConflict) and deleted with the LLMEndpoint."""
    name = "probe"
    manifest = ic_manifest(name)
    # A first LLMEndpoint tells the model name this spec gets in this namespace.
    kubectl.apply(to_yaml(manifest))
    first = wait_settled(kubectl, name, op, recorder)
    model = first["status"]["modelName"]
    kubectl("delete", "llmendpoint", name, "--timeout=120s")
    assert _describe(sm, "Model", model) is None, f"{model} left behind by the first LLMEndpoint"
    make_model(sm, model)
    before = {("Model", model): snapshot(sagemaker_api, "Model", model)}

    since = recorder.mark()
    kubectl.apply(to_yaml(manifest))
    obj = wait_settled(kubectl, name, op, recorder)
    assert obj["metadata"]["uid"] != first["metadata"]["uid"]
    problems = conflict_problems(kubectl, obj, model)
    problems += untouched_problems(recorder, since, [("Model", model)])
    problems += delete_problems(kubectl, name, sagemaker_api, before)
    problems += untouched_problems(recorder, since, [("Model", model)])
    report(problems, recorder, since, obj)


def test_adapter_component_of_another_owner_is_left_alone(
    kubectl: Kubectl,
    namespace: str,
    op: Operator,
    sm: Any,
    sagemaker_api: SageMaker,
    recorder: CallRecorder,
) -> None:
    """Today: DeleteInferenceComponent and CreateInferenceComponent of that name, then
    Ready=True without any NameConflict."""
    name = "probe"
    adapter = naming.adapter_component_name(namespace, name, "support-bot")
    make_model(sm, "other-model")
    make_component_endpoint(sm, "other-endpoint", "other-config")
    other_owner = {
        OWNER_UID: str(uuid.uuid4()),
        OWNER_NAMESPACE: namespace,
        OWNER_NAME: "someone-else",
        MANAGED_BY: "sagemaker-llm-operator",
    }
    make_component(sm, adapter, "other-endpoint", "other-model", tags=other_owner)
    mine = [("InferenceComponent", adapter)]
    before = {r: snapshot(sagemaker_api, *r) for r in mine}

    since = recorder.mark()
    kubectl.apply(to_yaml(ic_manifest(name, adapters=("support-bot",))))
    obj = wait_settled(kubectl, name, op, recorder, timeout=120)
    problems = conflict_problems(kubectl, obj, adapter)
    problems += untouched_problems(recorder, since, mine)
    problems += delete_problems(kubectl, name, sagemaker_api, before)
    problems += untouched_problems(recorder, since, mine)
    report(problems, recorder, since, obj)


# --- 5: two LLMEndpoints whose names used to collide ----------------------------------


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _old_slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")


def _old_prefix(namespace: str, name: str) -> str:
    """The naming of commit 8b1b177: stem + "-" + owner hash."""
    base = _old_slug(name)[:36].strip("-")
    ns = _old_slug(namespace)[: max(36 - len(base) - 1, 0)].strip("-")
    return f"{ns}-{base}-{_h(f'{namespace}/{name}')}"


@pytest.fixture
def twin_namespaces(cluster: LocalCluster) -> Iterator[tuple[str, str]]:
    """`<ns>` and `<ns>-g`, short enough that no stem is shortened (the collision needs
    the full namespace in the name; the per-test namespace is too long for that)."""
    first = f"own-{uuid.uuid4().hex[:6]}"
    pair = (first, f"{first}-g")
    for ns in pair:
        cluster.kubectl("create", "namespace", ns)
    yield pair
    for ns in pair:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_names_that_collided_under_the_old_scheme_do_not_fight(
    cluster: LocalCluster,
    twin_namespaces: tuple[str, str],
    start_operator: Callable[..., Operator],
    recorder: CallRecorder,
) -> None:
    """Today: one shared component name; B is NameConflict and Failed, never Ready."""
    ns_a, ns_b = twin_namespaces
    name_a, name_b = f"g-x-{_h(f'{ns_b}/x')}", "x"
    adapter_b = f"{_h(f'{ns_a}/{name_a}')}-base"
    # The pair really collided: A's base component was B's adapter component.
    assert f"{_old_prefix(ns_a, name_a)}-base" == f"{_old_prefix(ns_b, name_b)}-{adapter_b}"

    op = start_operator(ns_a, ns_b)
    kubectl_a, kubectl_b = Kubectl(cluster, ns_a), Kubectl(cluster, ns_b)
    since = recorder.mark()
    kubectl_a.apply(to_yaml(ic_manifest(name_a)))
    kubectl_b.apply(to_yaml(ic_manifest(name_b, adapters=(adapter_b,))))

    def component_writes() -> list[Call]:
        return [c for c in recorder.operator_writes(since) if c.operation.endswith("Component")]

    def component_deletes() -> list[Call]:
        return [c for c in component_writes() if c.operation == "DeleteInferenceComponent"]

    def status_of(kubectl: Kubectl, name: str) -> str:
        obj = get_llme(kubectl, name)
        return json.dumps((obj or {}).get("status"), indent=1)

    def diagnose() -> str:
        return (
            f"{ns_a}/{name_a}: {status_of(kubectl_a, name_a)}\n"
            f"{ns_b}/{name_b}: {status_of(kubectl_b, name_b)}\n"
            f"--- inference component writes ---\n"
            + "\n".join(f"  {c}" for c in component_writes())
        )

    def both_ready_or_not_converging() -> bool:
        if component_deletes():
            return True
        a, b = get_llme(kubectl_a, name_a), get_llme(kubectl_b, name_b)
        if any(obj is not None and is_failed(obj) for obj in (a, b)):
            return True
        return is_ready(a) and is_ready(b)

    wait_for(both_ready_or_not_converging, timeout=120, what="both Ready", diagnose=diagnose)
    assert not component_deletes(), f"components deleted while converging:\n{diagnose()}"
    assert is_ready(get_llme(kubectl_a, name_a)) and is_ready(get_llme(kubectl_b, name_b)), (
        f"not both Ready:\n{diagnose()}"
    )

    # Three resyncs of each LLMEndpoint: settled reconciles counted by the operator.
    settled_before = op.metric("llmop_reconciles_total", result="settled")
    assert settled_before > 0, "the operator's llmop_reconciles_total{result=settled} is missing"

    def three_resyncs_or_fighting() -> bool:
        later = op.metric("llmop_reconciles_total", result="settled")
        return bool(component_deletes()) or later >= settled_before + 6

    wait_for(
        three_resyncs_or_fighting,
        timeout=RESYNC_SECONDS * 10 + 30,
        what="three resyncs of both LLMEndpoints",
        diagnose=diagnose,
    )
    creates: dict[str, int] = {}
    for c in component_writes():
        if c.operation == "CreateInferenceComponent":
            key = c.params["InferenceComponentName"]
            creates[key] = creates.get(key, 0) + 1
    assert not component_deletes(), f"components deleted at resync:\n{diagnose()}"
    assert creates and all(n == 1 for n in creates.values()), (
        f"CreateInferenceComponent per name: {creates}\n{diagnose()}"
    )
    assert is_ready(get_llme(kubectl_a, name_a)) and is_ready(get_llme(kubectl_b, name_b)), (
        diagnose()
    )


# --- 6: drift ----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint_type", ["InferenceComponent", "Model"])
def test_model_deleted_behind_the_operators_back_is_recreated(
    endpoint_type: str,
    kubectl: Kubectl,
    op: Operator,
    sm: Any,
    recorder: CallRecorder,
) -> None:
    """Today: never re-created; status stays Ready; no ResourceMissing Event."""
    name = "probe"
    manifest = ic_manifest(name) if endpoint_type == "InferenceComponent" else model_manifest(name)
    kubectl.apply(to_yaml(manifest))
    obj = wait_settled(kubectl, name, op, recorder)
    assert is_ready(obj), f"not Ready: {obj.get('status')}"
    model = obj["status"]["modelName"]

    since = recorder.mark()
    sm.delete_model(ModelName=model)

    def diagnose() -> str:
        now = get_llme(kubectl, name) or {}
        return (
            f"status: {json.dumps(now.get('status'), indent=1)}\n"
            f"--- SageMaker writes since DeleteModel ---\n{recorder.log(since)}\n"
            f"--- Events ---\n{event_lines(events(kubectl, now)) if now else ''}\n"
            f"--- operator log ---\n{op.log_tail()}"
        )

    wait_for(
        lambda: _describe(sm, "Model", model) is not None,
        timeout=10 * RESYNC_SECONDS + 30,
        what=f"model {model} re-created",
        diagnose=diagnose,
    )
    writes = [c for c in recorder.writes_touching("Model", model, since) if c.by_operator]
    assert writes, diagnose()
    # Within one resync: counted in the operator's resyncs (each lists the models),
    # not in seconds of a shared machine. One to notice, one spare for a resync that
    # was already under way when the model went.
    calls = recorder.calls(since)
    created = calls.index(writes[0])
    resyncs = [c for c in calls[:created] if c.by_operator and c.operation == "ListModels"]
    assert len(resyncs) <= 2, diagnose()
    assert wait_event(kubectl, obj, "ResourceMissing", model), diagnose()


# --- 7-8: refused at apply time -------------------------------------------------------


def test_typo_in_region_is_refused_at_apply(kubectl: Kubectl) -> None:
    """Today: accepted."""
    manifest = model_manifest("typo-region")
    manifest["spec"]["aws"]["region"] = "us-eats-1"
    applied = kubectl.apply(to_yaml(manifest), check=False)
    assert applied.returncode != 0, f"accepted: {applied.stdout}"
    assert "aws.region" in applied.stderr, applied.stderr
    assert "not a region where sagemaker is available" in applied.stderr.lower(), applied.stderr


def test_emoji_in_tag_value_is_refused_at_apply(kubectl: Kubectl) -> None:
    """Today: accepted."""
    manifest = model_manifest("emoji-tag")
    manifest["spec"]["aws"]["tags"] = {"team": "\N{ROCKET}"}
    applied = kubectl.apply(to_yaml(manifest), check=False)
    assert applied.returncode != 0, f"accepted: {applied.stdout}"
    assert "aws.tags" in applied.stderr, applied.stderr
