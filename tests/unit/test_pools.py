"""LLMEndpointPools, pure: the CRD, the pool's plan, placement, and an LLMEndpoint on a
pool planned as the operator plans it (render included), which never touches the
pool's endpoint nor another LLMEndpoint's components."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from llm_operator.api import crd
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import naming, pools
from llm_operator.core import render as core_render
from llm_operator.core.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    Effect,
    UpdateEndpoint,
)
from llm_operator.core.desired import Owner
from llm_operator.core.identity import Identity
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedState,
)
from llm_operator.core.planner import plan

REPO = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"
POOL_UID = "uid-pool"
GUEST_UID = "uid-guest"
NEIGHBOUR_UID = "uid-neighbour"


def pool_spec(**changes: Any) -> LLMEndpointPoolSpec:
    raw: dict[str, Any] = {
        "instance": {"type": "ml.g5.12xlarge", "minCount": 1, "maxCount": 2},
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
        "allowedNamespaces": ["search"],
        **changes,
    }
    return LLMEndpointPoolSpec.model_validate(raw)


POOL_OWNER = Owner("ml-platform", "shared-g5", POOL_UID)


def guest_body(
    name: str = "mistral", namespace: str = "search", uid: str = GUEST_UID, **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": name, "uid": uid, "generation": 1},
        "spec": {
            "pool": {"name": "shared-g5", "namespace": "ml-platform"},
            "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1", "engine": "vllm"},
            "resources": {"copies": 2, "acceleratorsPerCopy": 1},
            "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
            **spec,
        },
    }


def facts(spec: LLMEndpointPoolSpec | None = None, **changes: Any) -> core_render.PoolFacts:
    found = core_render.PoolFacts(
        "ml-platform", "shared-g5", POOL_UID, pool_spec() if spec is None else spec
    )
    return replace(found, **changes)


def rendered(body: dict[str, Any], pool: core_render.PoolFacts | None = None) -> Any:
    parsed = core_render.parse(body, pool=facts() if pool is None else pool)
    return core_render.render(parsed, core_render.Facts())


def pool_endpoint(status: str = "InService", uid: str = POOL_UID) -> ObservedEndpoint:
    name = pools.endpoint_name("ml-platform", "shared-g5")
    return ObservedEndpoint(
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/{name}",
        status=status,
        config_name=f"{name}-c12345678",
        owner_uid=uid,
        owner_name="ml-platform/shared-g5",
    )


def component(
    name: str, uid: str, owner: str, endpoint: str, model: str = "m", copies: int = 1
) -> ObservedComponent:
    return ObservedComponent(
        name=name,
        status="InService",
        endpoint_name=endpoint,
        model_name=model,
        compute={"NumberOfAcceleratorDevicesRequired": 1.0},
        artifact_url=None,
        base_component=None,
        desired_copies=copies,
        current_copies=copies,
        owner_uid=uid,
        owner_name=owner,
        arn=f"arn:aws:sagemaker:us-east-1:111122223333:inference-component/{name}",
    )


# -- the API -------------------------------------------------------------------------


def test_committed_pool_crds_are_up_to_date() -> None:
    for path in (REPO / "crds", REPO / "charts" / "llm-operator" / "crds"):
        assert (path / "llmendpointpools.yaml").read_text() == crd.render_pool_crd_yaml(), (
            f"{path}/llmendpointpools.yaml is stale: run `make crd`"
        )
    built = crd.build_pool_crd()["spec"]
    assert built["scope"] == "Namespaced"
    assert built["names"]["shortNames"] == ["llmpool"]


def test_an_llmendpoint_has_either_instance_or_pool() -> None:
    body = guest_body()["spec"]
    assert LLMEndpointSpec.model_validate(body).pool is not None
    with pytest.raises(ValidationError, match="exactly one of instance"):
        LLMEndpointSpec.model_validate({**body, "instance": {"type": "ml.g5.12xlarge"}})
    with pytest.raises(ValidationError, match="exactly one of instance"):
        LLMEndpointSpec.model_validate({k: v for k, v in body.items() if k != "pool"})
    with pytest.raises(ValidationError, match="endpointType InferenceComponent"):
        LLMEndpointSpec.model_validate({**body, "endpointType": "Model", "resources": None})


def test_a_pool_and_an_llmendpoint_of_one_name_never_share_an_endpoint() -> None:
    assert pools.endpoint_name("a", "b") != naming.endpoint_name("a", "b")
    assert pools.endpoint_name("a", "b", "c1") != naming.endpoint_name("a", "b", "c1")
    assert pools.endpoint_name("a", "b") != pools.endpoint_name("a", "b", "c1")


# -- the pool's own plan ------------------------------------------------------------


def test_a_new_pool_creates_its_config_then_its_endpoint_with_its_tags() -> None:
    want = pools.render_pool(pool_spec(), POOL_OWNER)
    scaling = want.config_request["ProductionVariants"][0]["ManagedInstanceScaling"]
    assert scaling == {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2}
    got = pools.plan_pool(want, pools.PoolObserved(None, {}, {}))
    assert [type(a) for a in got.actions] == [CreateEndpointConfig, CreateEndpoint]
    assert all(a.tags["llmoperator.io/uid"] == POOL_UID for a in got.actions)  # type: ignore[attr-defined]


def test_a_pool_never_writes_an_endpoint_that_is_not_its_own() -> None:
    want = pools.render_pool(pool_spec(), POOL_OWNER)
    seen = pools.PoolObserved(pool_endpoint(uid="someone-else"), {}, {})
    got = pools.plan_pool(want, seen)
    assert got.actions == () and got.reason == "NameConflict"
    assert pools.plan_pool_deletion(want, seen, retain=False).actions == ()


def test_deleting_a_pool_that_hosts_models_is_held_and_names_them() -> None:
    want = pools.render_pool(pool_spec(), POOL_OWNER)
    ep = pool_endpoint()
    placed = component("x-base", GUEST_UID, "search/mistral", ep.name)
    config = ObservedResource(ep.config_name, POOL_UID)
    seen = pools.PoolObserved(ep, {config.name: config}, {placed.name: placed})
    held = pools.plan_pool_deletion(want, seen, retain=False)
    assert held.actions == () and not held.done_deleting
    assert held.reason == pools.POOL_IN_USE and "search/mistral" in held.message
    empty = pools.plan_pool_deletion(want, replace(seen, components={}), retain=False)
    assert empty.actions == (DeleteEndpoint(name=ep.name),)
    gone = pools.plan_pool_deletion(want, replace(seen, endpoint=None, components={}), retain=False)
    assert gone.actions == (DeleteEndpointConfig(name=config.name),)
    done = pools.plan_pool_deletion(want, pools.PoolObserved(None, {}, {}), retain=False)
    assert done.done_deleting


# -- placement ---------------------------------------------------------------------


def demand(name: str, copies: int, namespace: str = "search") -> pools.Demand:
    return pools.Demand(namespace, name, copies, 1, 1.0, 4096)


def test_placement_counts_every_model_at_its_ceiling() -> None:
    # 2 x ml.g5.12xlarge: 8 GPUs.
    spec = pool_spec()
    fits = pools.place(
        pool_namespace="ml-platform",
        pool_name="shared-g5",
        pool=spec,
        newcomer=demand("b", 4),
        others=[demand("a", 4)],
    )
    assert fits.admitted
    full = pools.place(
        pool_namespace="ml-platform",
        pool_name="shared-g5",
        pool=spec,
        newcomer=demand("c", 1),
        others=[demand("a", 4), demand("b", 4)],
    )
    assert not full.admitted and full.reason == pools.POOL_FULL
    assert "0 of 8 accelerators" in full.message and "search/a" in full.message


def test_of_several_racing_for_the_last_room_exactly_those_that_fit_are_admitted() -> None:
    spec = pool_spec()
    admitted: list[pools.Demand] = [demand("first", 5)]
    for name in ("r1", "r2", "r3", "r4", "r5"):
        answer = pools.place(
            pool_namespace="ml-platform",
            pool_name="shared-g5",
            pool=spec,
            newcomer=demand(name, 1),
            others=admitted,
        )
        if answer.admitted:
            admitted.append(demand(name, 1))
    assert [d.name for d in admitted] == ["first", "r1", "r2", "r3"]


def test_a_namespace_the_pool_does_not_allow_is_refused() -> None:
    answer = pools.place(
        pool_namespace="ml-platform",
        pool_name="shared-g5",
        pool=pool_spec(),
        newcomer=demand("x", 1, namespace="billing"),
        others=[],
    )
    assert answer.reason == pools.POOL_NOT_ALLOWED and "billing" in answer.message
    refused = rendered(guest_body(namespace="billing"))
    assert not refused.complete
    assert [p.reason for p in refused.errors] == [pools.POOL_NOT_ALLOWED]


def test_a_copy_is_packed_per_instance_not_summed() -> None:
    # 3 GPUs per copy on 4-GPU instances: two instances hold two copies, not a third.
    three = pools.Demand("search", "big", 3, 3, 1.0, 4096)
    answer = pools.place(
        pool_namespace="ml-platform",
        pool_name="shared-g5",
        pool=pool_spec(),
        newcomer=three,
        others=[],
    )
    assert not answer.admitted


# -- an LLMEndpoint on a pool ----------------------------------------------------------


def test_an_llmendpoint_on_a_pool_creates_its_model_and_component_on_the_pools_endpoint() -> None:
    r = rendered(guest_body())
    assert r.complete and r.desired.host is not None
    ep = pool_endpoint()
    assert r.desired.endpoint_name == ep.name
    neighbour = component("other-base", NEIGHBOUR_UID, "support/llama", ep.name)
    seen = ObservedState(endpoint=ep, components={neighbour.name: neighbour})
    got = plan(r.desired, seen, deleting=False, deletion_policy="Delete", memory=PlanMemory())
    kinds = [type(a) for a in got.actions]
    assert kinds == [CreateModel, CreateInferenceComponent]
    create = got.actions[1]
    assert create.request()["EndpointName"] == ep.name
    assert not got.degraded.status, got.degraded.message  # the neighbour is no conflict
    assert not any(a.kind in (Kind.ENDPOINT, Kind.ENDPOINT_CONFIG) for a in got.actions)


def test_an_llmendpoint_waits_for_its_pools_endpoint_and_never_creates_one() -> None:
    r = rendered(guest_body())
    for seen in (ObservedState(), ObservedState(endpoint=pool_endpoint("Creating"))):
        got = plan(r.desired, seen, deleting=False, deletion_policy="Delete", memory=PlanMemory())
        assert not any(a.kind in (Kind.ENDPOINT, Kind.ENDPOINT_CONFIG) for a in got.actions)
        assert not any(a.kind is Kind.INFERENCE_COMPONENT for a in got.actions)


def test_an_endpoint_not_tagged_for_the_pool_is_a_conflict() -> None:
    r = rendered(guest_body())
    seen = ObservedState(endpoint=pool_endpoint(uid="someone-else"))
    got = plan(r.desired, seen, deleting=False, deletion_policy="Delete", memory=PlanMemory())
    assert got.actions == () and got.degraded.reason == "NameConflict"


def test_deleting_an_llmendpoint_on_a_pool_deletes_its_own_alone() -> None:
    r = rendered(guest_body())
    want = r.desired
    ep = pool_endpoint()
    mine = component(want.components[0].name, GUEST_UID, "search/mistral", ep.name, want.model.name)
    neighbour = component("other-base", NEIGHBOUR_UID, "support/llama", ep.name)
    model = ObservedResource(want.model.name, GUEST_UID)
    seen = ObservedState(
        endpoint=ep,
        components={mine.name: mine, neighbour.name: neighbour},
        models={model.name: model},
    )
    first = plan(want, seen, deleting=True, deletion_policy="Delete", memory=PlanMemory())
    assert first.actions == (DeleteInferenceComponent(name=mine.name),)
    assert not first.degraded.status, first.degraded.message
    after = replace(seen, components={neighbour.name: neighbour})
    second = plan(want, after, deleting=True, deletion_policy="Delete", memory=PlanMemory())
    assert second.actions == (DeleteModel(name=model.name),)
    done = plan(
        want,
        ObservedState(endpoint=ep, components={neighbour.name: neighbour}),
        deleting=True,
        deletion_policy="Delete",
        memory=PlanMemory(),
    )
    assert done.done_deleting and done.actions == ()
    for p in (first, second, done):
        assert all(a.effect is not Effect.DELETE or a.name != ep.name for a in p.actions)


def test_an_llmendpoint_on_a_pool_of_another_region_or_account_is_refused() -> None:
    other = pool_spec(aws={"region": "us-west-2", "executionRoleArn": ROLE})
    refused = rendered(guest_body(), facts(other))
    assert [p.reason for p in refused.errors] == [pools.POOL_MISMATCH]
    account = facts(identity=Identity("arn:aws:iam::999999999999:role/pool"))
    moved = rendered(guest_body(), account)
    assert moved.identity is None and moved.identity_problem.reason == pools.POOL_MISMATCH
    missing = rendered(guest_body(), replace(facts(), spec=None))
    assert [p.reason for p in missing.errors] == [pools.POOL_NOT_FOUND]


def test_the_example_pool_places_both_models() -> None:
    import yaml

    docs = list(yaml.safe_load_all((REPO / "examples" / "pools" / "shared-g5.yaml").read_text()))
    pool_doc = next(d for d in docs if d["kind"] == "LLMEndpointPool")
    spec = LLMEndpointPoolSpec.model_validate(pool_doc["spec"])
    found = core_render.PoolFacts("ml-platform", "shared-g5", POOL_UID, spec)
    admitted: list[pools.Demand] = []
    for d in docs:
        if d["kind"] != "LLMEndpoint":
            continue
        meta = {**d["metadata"], "uid": f"uid-{d['metadata']['name']}"}
        r = rendered({"metadata": meta, "spec": d["spec"]}, found)
        assert r.complete and not r.errors, r.errors
        new = pools.demand_of(meta["namespace"], meta["name"], r.spec)
        answer = pools.place(
            pool_namespace="ml-platform",
            pool_name="shared-g5",
            pool=spec,
            newcomer=new,
            others=admitted,
        )
        assert answer.admitted, answer.message
        admitted.append(new)
    assert [d.copies for d in admitted] == [2, 4]


def test_a_pool_change_updates_its_endpoint_once_and_never_after_a_refusal() -> None:
    want = pools.render_pool(pool_spec(), POOL_OWNER)
    ep = replace(pool_endpoint(), last_modified=100.0)
    config = ObservedResource(want.config_name, POOL_UID, created=50.0)
    seen = pools.PoolObserved(ep, {config.name: config}, {})
    moving = pools.plan_pool(want, seen)
    assert moving.actions == (UpdateEndpoint(name=ep.name, config_name=want.config_name),)
    busy = replace(component("x-base", GUEST_UID, "search/mistral", ep.name), status="Updating")
    waiting = pools.plan_pool(want, replace(seen, components={busy.name: busy}))
    assert waiting.actions == () and "x-base" in waiting.message
    refused = replace(ep, failure_reason="capacity", last_modified=200.0)
    held = pools.plan_pool(want, replace(seen, endpoint=refused))
    assert held.actions == () and held.reason == "UpdateFailed" and held.degraded


def test_kubectl_get_llmpool_columns() -> None:
    (version,) = crd.build_pool_crd()["spec"]["versions"]
    shown = [c["name"] for c in version["additionalPrinterColumns"] if "priority" not in c]
    assert shown == ["Instance", "Instances", "Models", "Accelerators", "Status", "Ready", "Age"]
    (llme,) = crd.build_crd()["spec"]["versions"]
    assert {"name": "Pool", "type": "string", "jsonPath": ".spec.pool.name"}.items() <= next(
        c for c in llme["additionalPrinterColumns"] if c["name"] == "Pool"
    ).items()


def test_a_model_on_a_pool_names_its_base_component_apart_from_a_standalone_one() -> None:
    """A standalone LLMEndpoint moved onto a pool runs both until the pool's serves."""
    want = rendered(guest_body()).desired
    standalone = naming.base_component_name("search", "mistral")
    assert want.components[0].name == naming.pooled_base_component_name("search", "mistral")
    assert want.components[0].name != standalone
    # One placed under the standalone name (before moves existed) keeps it, as its
    # status on the pool's endpoint shows, rather than being replaced.
    placed = {
        "endpointName": pools.endpoint_name("ml-platform", "shared-g5"),
        "inferenceComponents": [{"name": standalone}],
    }
    parsed = core_render.parse({**guest_body(), "status": placed}, pool=facts())
    kept = core_render.render(parsed, core_render.Facts()).desired
    assert kept.components[0].name == standalone
    # Status still naming its former endpoint (a move under way): the pool's name.
    moving = {**placed, "endpointName": naming.endpoint_name("search", "mistral")}
    parsed = core_render.parse({**guest_body(), "status": moving}, pool=facts())
    assert core_render.render(parsed, core_render.Facts()).desired.components[0].name == (
        naming.pooled_base_component_name("search", "mistral")
    )


# -- a change of the pool's instance type ------------------------------------------------


def tenant(name: str = "mistral", copies: int = 2, **resources: Any) -> pools.Tenant:
    body = guest_body(name, resources={"copies": copies, "acceleratorsPerCopy": 1, **resources})
    spec = LLMEndpointSpec.model_validate(body["spec"])
    return pools.Tenant("search", name, spec, pools.demand_of("search", name, spec))


def retyped(instance_type: str, max_count: int = 2) -> pools.DesiredPool:
    instance = {"type": instance_type, "minCount": 1, "maxCount": max_count}
    return pools.render_pool(pool_spec(instance=instance), POOL_OWNER)


def serving_g5(want: pools.DesiredPool) -> pools.PoolObserved:
    ep = replace(pool_endpoint(), last_modified=100.0)
    old = ObservedResource(ep.config_name, POOL_UID, created=10.0)
    return pools.PoolObserved(ep, {old.name: old}, {}, serving_instance_type="ml.g5.12xlarge")


def test_a_new_instance_type_rolls_out_with_a_rolling_update_and_the_old_config_goes_after() -> (
    None
):
    want = retyped("ml.g6.12xlarge")
    seen = serving_g5(want)
    started = pools.plan_pool(want, seen, [tenant()])
    create, update = started.actions
    assert isinstance(create, CreateEndpointConfig) and create.name == want.config_name
    assert create.spec["ProductionVariants"][0]["InstanceType"] == "ml.g6.12xlarge"
    assert update == UpdateEndpoint(
        name=seen.endpoint.name if seen.endpoint else "",
        config_name=want.config_name,
        deployment={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                "WaitIntervalInSeconds": 600,
            }
        },
    )
    assert started.ready and started.rollout is not None
    assert (started.rollout.phase, started.rollout.step) == ("InProgress", "Starting")
    assert (started.rollout.from_type, started.rollout.to_type) == (
        "ml.g5.12xlarge",
        "ml.g6.12xlarge",
    )
    # SageMaker rolls: the step its new instances report, and the models keep serving.
    assert seen.endpoint is not None
    rolling = replace(
        seen.endpoint,
        status="Updating",
        pending_config=want.config_name,
        deployment_status="Baking",
        deployment_message="baking batch 1 of 2",
    )
    config = ObservedResource(want.config_name, POOL_UID, created=150.0)
    configs = {**seen.configs, config.name: config}
    during = pools.plan_pool(want, replace(seen, endpoint=rolling, configs=configs), [tenant()])
    assert during.actions == () and during.ready and during.rollout is not None
    assert (during.rollout.phase, during.rollout.step) == ("Baking", "Baking")
    # Done: the old config (ours) is deleted only now; someone else's never.
    foreign = ObservedResource(f"{want.endpoint_name}-cforeign1", "someone-else", created=1.0)
    done = replace(seen.endpoint, config_name=want.config_name, last_modified=300.0)
    after = pools.plan_pool(
        want,
        pools.PoolObserved(done, {**configs, foreign.name: foreign}, {}),
        [tenant()],
    )
    assert after.actions == (DeleteEndpointConfig(name=seen.endpoint.config_name),)
    assert after.rollout is None


def test_a_new_instance_type_a_placed_model_does_not_fit_is_refused_with_the_arithmetic() -> None:
    # ml.g5.2xlarge: 1 GPU, 8 vCPUs, 32 GiB. A 2-GPU copy never fits one.
    want = retyped("ml.g5.2xlarge")
    refused = pools.plan_pool(
        want, serving_g5(want), [tenant("big", 1, acceleratorsPerCopy=2), tenant()]
    )
    assert refused.actions == ()  # not even the endpoint config
    assert refused.degraded and refused.reason == pools.POOL_MODELS_DO_NOT_FIT
    assert refused.ready  # what is placed keeps serving on ml.g5.12xlarge
    assert "search/big: one copy needs 2 accelerators but ml.g5.2xlarge has 1" in refused.message
    assert "search/mistral" not in refused.message
    assert refused.rollout is not None and refused.rollout.phase == "Refused"
    # Each copy fits, but not all of them on maxCount instances: the packing says so.
    crowded = pools.plan_pool(want, serving_g5(want), [tenant(copies=3)])
    assert crowded.actions == () and crowded.reason == pools.POOL_MODELS_DO_NOT_FIT
    assert (
        "search/mistral: 3 copies x 1 accelerators, 1 vCPUs, 4096 MiB (at its ceiling) do not "
        "all fit" in crowded.message
    )
    assert "on 2 x ml.g5.2xlarge (1 accelerators, 8 vCPUs, 32768 MiB each" in crowded.message
    assert "3 of 2 accelerators" in crowded.message
    # Raising maxCount makes room: it rolls out.
    roomy = retyped("ml.g5.2xlarge", max_count=3)
    assert any(
        isinstance(a, UpdateEndpoint)
        for a in pools.plan_pool(roomy, serving_g5(roomy), [tenant(copies=3)]).actions
    )


def test_a_new_instance_type_of_other_hardware_is_refused_and_nothing_hosted_is_fine() -> None:
    want = retyped("ml.inf2.24xlarge")
    refused = pools.plan_pool(want, serving_g5(want), [tenant()])
    assert refused.actions == () and refused.reason == pools.POOL_MODELS_DO_NOT_FIT
    assert "search/mistral run GPU engine images on ml.g5.12xlarge" in refused.message
    assert "ml.inf2.24xlarge (Neuron)" in refused.message
    # With nothing placed, any type rolls out.
    empty = pools.plan_pool(want, serving_g5(want), [])
    assert any(isinstance(a, UpdateEndpoint) for a in empty.actions)


def test_a_rolled_back_instance_type_is_not_tried_again_until_the_spec_changes() -> None:
    want = retyped("ml.g6.12xlarge")
    seen = serving_g5(want)
    assert seen.endpoint is not None
    config = ObservedResource(want.config_name, POOL_UID, created=150.0)
    back = replace(
        seen.endpoint,
        last_modified=400.0,
        failure_reason="Deployment rolled back: CloudWatch alarm(s) [p99] went into ALARM",
    )
    held = pools.plan_pool(
        want, replace(seen, endpoint=back, configs={**seen.configs, config.name: config}), []
    )
    assert held.actions == ()
    assert held.degraded and held.reason == pools.POOL_ROLLED_BACK
    assert held.rollout is not None and held.rollout.phase == pools.POOL_ROLLED_BACK
    assert "from ml.g6.12xlarge to ml.g5.12xlarge" in held.message
    # SageMaker's FailureReason cleared since: status remembers, still not tried again.
    cleared = replace(back, failure_reason=None)
    seen_later = replace(seen, endpoint=cleared, configs={**seen.configs, config.name: config})
    again = pools.plan_pool(want, seen_later, [], rolled_back=want.config_name)
    assert again.actions == () and again.reason == pools.POOL_ROLLED_BACK
    # Without that record (status lost) and without the reason, it is tried once more.
    tried = pools.plan_pool(want, seen_later, [])
    assert any(isinstance(a, UpdateEndpoint) for a in tried.actions)


def test_a_pool_rollout_timeout_must_exceed_its_bake() -> None:
    with pytest.raises(ValidationError, match="timeoutSeconds must be larger"):
        pool_spec(rollout={"waitSeconds": 900, "timeoutSeconds": 600})
    assert (
        "instance.type of a pool is immutable"
        not in (REPO / "crds" / "llmendpointpools.yaml").read_text()
    )


def test_two_models_on_one_pool_name_their_alarms_apart() -> None:
    """Both scale to zero and roll back on their own alarms: each names them after
    itself, never after the pool's endpoint they share (CloudWatch names are global)."""
    scaling: dict[str, Any] = {"minReplicas": 0, "maxReplicas": 2, "target": 4}
    rollout: dict[str, Any] = {"strategy": "Rolling", "autoRollback": {"maxErrorRatePercent": 1}}
    one = rendered(guest_body("mistral", autoscaling=scaling, rollout=rollout)).desired
    two = rendered(guest_body("qwen", uid="uid-qwen", autoscaling=scaling, rollout=rollout))
    assert not two.errors, two.errors
    two = two.desired
    assert one.endpoint_name == two.endpoint_name  # the pool's
    names = [
        {one.scaling.from_zero.alarm_name, *(a.name for a in one.rollout.owned_alarms)},
        {two.scaling.from_zero.alarm_name, *(a.name for a in two.rollout.owned_alarms)},
    ]
    assert not names[0] & names[1]
    assert all(not n.startswith(one.endpoint_name) for n in names[0] | names[1])
    assert one.scaling.from_zero.alarm_name == (
        naming.endpoint_name("search", "mistral") + "-no-capacity"
    )
