"""The shell's branches, in-process: the real Reconciler, boto3 adapter and observer
against the SageMaker emulator, with a recording `kube.Cluster` in place of the API
server (the e2e tests cover the real one). No subprocess, no kopf.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.core.memory import PlanMemory
from llm_operator.shell.aws import AwsError, SageMaker
from llm_operator.shell.observe import Observer
from llm_operator.shell.reconciler import TRANSIENT_FAILURES, PassResult, Reconciler
from tests.plugins.emulator_fixtures import REGION
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import (
    GATED,
    SETTINGS,
    SPEC,
    TOKEN,
    RecordingCluster,
    aws_environment,
    body,
    ready,
    reconciler,
    until,
)
from tests.plugins.recording_proxy import ALL, RecordingProxy


def test_a_pass_brings_an_llmendpoint_to_ready_and_deletion_removes_everything(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            result = await until(r, cluster, ready)
            assert result.outcome == "settled" and result.delay == SETTINGS.resync_seconds
            assert cluster.reasons()[:3] == [
                "CreateModel",
                "CreateEndpointConfig",
                "CreateEndpoint",
            ]
            gone = await until(r, cluster, lambda res, _: res.deleted, deleting=True)
            assert gone.outcome == "deleted"
        finally:
            r.close()

    asyncio.run(scenario())
    assert not any(emulated_sagemaker.names().values())


def test_only_what_this_process_created_skips_listtags(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            await until(first, cluster, ready)
        finally:
            first.close()
        assert emulated_sagemaker.admin.calls().get("ListTags", 0) == 0
        # A restarted replica finds the same names in status: it reads their tags.
        second = reconciler(cluster)
        try:
            await second.reconcile(body(cluster), deleting=False)
        finally:
            second.close()

    asyncio.run(scenario())
    # endpoint, base component, model and endpoint config: each read once.
    assert emulated_sagemaker.admin.calls().get("ListTags", 0) == 4


def test_a_missing_secret_is_degraded_announced_once_even_across_a_restart(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = GATED

    async def scenario() -> None:
        cluster = RecordingCluster()
        for _ in range(2):  # two replicas, one after the other, two passes each
            r = reconciler(cluster)
            try:
                for _ in range(2):
                    result = await r.reconcile(body(cluster, spec), deleting=False)
                    assert result.outcome == "degraded"
                    assert result.delay == SETTINGS.resync_seconds
            finally:
                r.close()
        assert cluster.reasons() == ["SecretNotFound"]
        degraded = next(c for c in cluster.status["conditions"] if c["type"] == "Degraded")
        assert (degraded["status"], degraded["reason"]) == ("True", "SecretNotFound")
        # Fixed: it goes on, and the secret's value never shows.
        cluster.secrets[("team", "hf", "token")] = TOKEN
        r = reconciler(cluster)
        try:
            await until(r, cluster, ready, spec=spec)
        finally:
            r.close()
        assert TOKEN not in repr(cluster.status) + repr(cluster.events)

    asyncio.run(scenario())


def test_spec_warnings_are_announced_once_across_restarts(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = {**SPEC, "model": {**SPEC["model"], "env": {"SM_VLLM_MAX_MODEL_LEN": "100"}}}

    async def scenario() -> None:
        cluster = RecordingCluster()
        for _ in range(2):
            r = reconciler(cluster)
            try:
                await r.reconcile(body(cluster, spec), deleting=False)
                await r.reconcile(body(cluster, spec), deleting=False)
            finally:
                r.close()
        assert cluster.reasons().count("EnvOverridden") == 1
        assert any(
            k.startswith("EnvOverridden/")
            for k in PlanMemory.from_dict(cluster.status["planMemory"]).reported
        )

    asyncio.run(scenario())


def test_aws_failures_back_off_and_only_a_lasting_one_is_reported(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["ListEndpoints"])

    async def scenario() -> list[PassResult]:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            results = [
                await r.reconcile(body(cluster), deleting=False)
                for _ in range(TRANSIENT_FAILURES + 2)
            ]
        finally:
            r.close()
        assert cluster.reasons() == ["AwsError"]  # after the blips, once
        assert "ThrottlingException" in cluster.status["failureReason"]
        return results

    results = asyncio.run(scenario())
    assert {r.outcome for r in results} == {"error"}
    delays = [r.delay for r in results]
    assert delays == sorted(delays) and delays[0] < delays[-1] <= SETTINGS.resync_seconds


def test_an_unexpected_error_is_reported_never_raised(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    class Broken(RecordingCluster):
        async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
            if "conditions" in status and any(
                c["reason"] == "ReconcileError" for c in status["conditions"]
            ):
                return await super().patch_status(namespace, name, status)
            raise RuntimeError(f"status write refused for {TOKEN}")

    async def scenario() -> PassResult:
        cluster = Broken({("team", "hf", "token"): TOKEN})
        spec = GATED
        r = reconciler(cluster)
        try:
            result = await r.reconcile(body(cluster, spec), deleting=False)
        finally:
            r.close()
        assert cluster.reasons()[-1] == "ReconcileError"
        assert TOKEN not in cluster.status["failureReason"]
        assert "***" in cluster.status["failureReason"]
        return result

    result = asyncio.run(scenario())
    assert result.outcome == "error" and 0 < result.delay < SETTINGS.resync_seconds


def test_an_llmendpoint_whose_spec_no_longer_renders_is_still_deleted(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, ready)
            # Broken afterwards (an instance type that does not exist), then deleted:
            # the names come from namespace and name, the rest is found by prefix.
            broken = {**SPEC, "instance": {**SPEC["instance"], "type": "ml.nope.xlarge"}}
            await until(r, cluster, lambda res, _: res.deleted, deleting=True, spec=broken)
        finally:
            r.close()

    asyncio.run(scenario())
    assert not any(emulated_sagemaker.names().values())


def test_the_token_reaches_only_the_model(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = GATED

    async def scenario() -> None:
        cluster = RecordingCluster({("team", "hf", "token"): TOKEN})
        r = reconciler(cluster)
        try:
            await until(r, cluster, ready, spec=spec)
        finally:
            r.close()
        assert TOKEN not in repr(cluster.status) + repr(cluster.events)

    asyncio.run(scenario())
    model = emulated_sagemaker.client().describe_model(
        ModelName=emulated_sagemaker.names()["models"][0]
    )
    assert model["PrimaryContainer"]["Environment"]["HF_TOKEN"] == TOKEN


def test_sagemaker_not_answering_is_said_at_once_and_once_per_outage(
    emulated_sagemaker: SageMakerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections to SageMaker hang (a proxy that accepts and never answers): a changed
    spec and a new LLMEndpoint both say AwsUnreachable (timeout) for their generation,
    with the last contact; one Warning each per outage; after it, one AwsReachable and
    convergence with nothing sent twice."""
    proxy = RecordingProxy(emulated_sagemaker.url)
    aws_environment(monkeypatch, SAGEMAKER=proxy.url)
    changed_spec = {**SPEC, "resources": {**SPEC["resources"], "copies": 3}}

    async def scenario() -> None:
        sm = SageMaker(
            workers=4,
            calls_per_second=1000,
            burst=1000,
            max_attempts=1,
            identity_retry_seconds=0,
            connect_timeout=2.0,
            read_timeout=2.0,
        )
        observer = Observer(sm, max_age=0.0, describe_max_age=300)
        cluster, other = RecordingCluster(), RecordingCluster()
        r = Reconciler(SETTINGS, sagemaker=sm, observer=observer, cluster=cluster)
        fresh = Reconciler(SETTINGS, sagemaker=sm, observer=observer, cluster=other)
        fresh_meta = {"name": "fresh", "uid": "uid-fresh"}
        try:
            await until(r, cluster, ready)
            answered = sm.last_answer(REGION)
            assert answered is not None

            proxy.hold(ALL)
            for _ in range(3):
                result = await r.reconcile(
                    body(cluster, changed_spec, generation=2), deleting=False
                )
                # Retried at the poll interval (no growing backoff), so SageMaker's
                # return is noticed within one.
                assert (result.outcome, result.delay) == ("error", SETTINGS.transition_poll_seconds)
                await fresh.reconcile(body(other, **fresh_meta), deleting=False)

            for status, generation in ((cluster.status, 2), (other.status, 1)):
                assert status["observedGeneration"] == generation
                conditions = {c["type"]: c for c in status["conditions"]}
                progressing = conditions["Progressing"]
                assert (progressing["status"], progressing["reason"]) == (
                    "True",
                    "AwsUnreachable",
                )
                assert "(timeout: " in progressing["message"]
                assert f"generation {generation} waits" in progressing["message"]
                last = answered.strftime("%Y-%m-%dT%H:%M:%SZ")
                assert status["aws"] == {"lastContactTime": last}
                assert f"last answer {last}" in progressing["message"]
            # Neither generation is known to be applied: Ready and Degraded are Unknown;
            # the phase is the last known one.
            for status in (cluster.status, other.status):
                conditions = {c["type"]: c for c in status["conditions"]}
                assert conditions["Ready"]["status"] == "Unknown"
                assert conditions["Degraded"]["status"] == "Unknown"
            assert (cluster.status["phase"], other.status["phase"]) == ("InService", "Pending")
            for recording in (cluster, other):
                assert recording.reasons().count("AwsUnreachable") == 1

            proxy.drop_held()
            await until(
                r,
                cluster,
                lambda _, s: s.get("copies") == {"desired": 3, "current": 3},
                spec=changed_spec,
                meta={"generation": 2},
            )
            await until(fresh, other, ready, meta=fresh_meta)
            for recording in (cluster, other):
                assert recording.status["aws"] is None
                assert recording.reasons().count("AwsReachable") == 1
                assert recording.reasons().count("AwsUnreachable") == 1
        finally:
            r.close()
            proxy.close()

    asyncio.run(scenario())
    # One of each per LLMEndpoint: nothing held during the outage was sent afterwards.
    names = emulated_sagemaker.names()
    assert {kind: len(found) for kind, found in names.items()} == {
        "models": 2,
        "endpoint_configs": 2,
        "endpoints": 2,
        "inference_components": 2,
    }, names


@pytest.mark.parametrize("where", ["refused", "dns", "hang"])
def test_no_answer_is_classified_by_its_kind(
    where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """What a person is told: a timeout, a connection refused or a name that does not
    resolve, each from a real socket."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if where == "hang":
        listener.listen(8)  # accepts (the kernel does) and never answers
    else:
        listener.close()  # nothing listens there: refused
    url = "http://sagemaker.invalid" if where == "dns" else f"http://127.0.0.1:{port}"
    aws_environment(monkeypatch, SAGEMAKER=url)

    async def scenario() -> AwsError:
        sm = SageMaker(workers=1, max_attempts=1, connect_timeout=0.3, read_timeout=0.3)
        try:
            with pytest.raises(AwsError) as failed:
                await sm.call(REGION, "ListEndpoints", {})
            return failed.value
        finally:
            sm.close()

    try:
        error = asyncio.run(scenario())
    finally:
        listener.close()
    expected = {"refused": "connection refused", "dns": "DNS", "hang": "timeout"}[where]
    assert (error.kind, error.cause, error.retryable) == ("unreachable", expected, True)


def test_status_counts_the_instances_a_copies_change_made_sagemaker_add(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """Five one-GPU copies need a second four-GPU instance: managed instance scaling
    adds it without the endpoint's own LastModifiedTime or status telling, so the
    component's change is what says the endpoint must be described again."""

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, lambda res, st: ready(res, st) and res.outcome == "settled")
            assert cluster.status["instances"] == {"desired": 1, "current": 1}
            more = {**SPEC, "resources": {**SPEC["resources"], "copies": 5}}
            await until(
                r,
                cluster,
                lambda res, st: res.outcome == "settled" and st["copies"]["current"] == 5,
                spec=more,
                meta={"generation": 2},
            )
            assert cluster.status["instances"] == {"desired": 2, "current": 2}
        finally:
            r.close()

    asyncio.run(scenario())


def test_after_a_restart_a_spec_change_does_not_wait_for_the_re_check(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """A restarted operator reads every LLMEndpoint back, at the rate limit: for one
    that had settled that is a background re-check, given up as soon as its spec
    changes, so the change is sent at once instead of after the read-back."""
    changed = {**SPEC, "resources": {**SPEC["resources"], "copies": 3}}

    async def scenario() -> tuple[PassResult, PassResult, dict[str, int]]:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            await until(first, cluster, lambda res, _: res.outcome == "settled")
        finally:
            first.close()
        # The new process, at a rate limit that makes its read-back take seconds.
        second = reconciler(cluster, aws_rate=2, aws_burst=1)
        try:
            recheck = asyncio.ensure_future(second.reconcile(body(cluster), deleting=False))
            await asyncio.sleep(0.5)  # the read-back is under way when the spec changes
            before = dict(emulated_sagemaker.admin.calls())
            second.wake("uid-1")  # as the update handler does
            given_up = await recheck
            sent = await second.reconcile(body(cluster, changed, generation=2), deleting=False)
            return given_up, sent, before
        finally:
            second.close()

    given_up, sent, before = asyncio.run(scenario())
    assert given_up.outcome == "superseded"
    assert sent.outcome == "progressing"
    calls = emulated_sagemaker.admin.calls()
    assert calls["UpdateInferenceComponentRuntimeConfig"] == 1
    assert "UpdateInferenceComponentRuntimeConfig" not in before


def test_creating_costs_no_describe_of_what_this_process_created(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """The List's status and this process's own Create requests tell what DescribeEndpoint
    and DescribeInferenceComponent would once they are InService: creating costs neither,
    and the status written is the one a replica that describes them writes. (One copy:
    more may need more instances, which only the endpoint's Describe tells.)"""
    one = {**SPEC, "resources": {**SPEC["resources"], "copies": 1}}

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            for _ in range(60):
                result = await first.reconcile(body(cluster, one), deleting=False)
                if result.outcome == "settled":
                    break
                # Each pass a poll interval later, as the daemon runs them.
                await asyncio.sleep(SETTINGS.transition_poll_seconds)
        finally:
            first.close()
        assert result.outcome == "settled"
        calls = emulated_sagemaker.admin.calls()
        assert calls.get("DescribeEndpoint", 0) == 0
        assert calls.get("DescribeInferenceComponent", 0) == 0
        created = dict(cluster.status)
        second = reconciler(cluster)
        try:
            await second.reconcile(body(cluster, one), deleting=False)
        finally:
            second.close()
        assert emulated_sagemaker.admin.calls()["DescribeEndpoint"] == 1
        return created, dict(cluster.status)

    created, described = asyncio.run(scenario())
    assert {k: created[k] for k in ("instances", "copies", "phase")} == {
        k: described[k] for k in ("instances", "copies", "phase")
    }
    assert created == described


def test_after_a_restart_a_search_reads_endpoints_and_models_with_their_tags(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """A restarted operator reads its endpoints and models back with their tags by Search,
    100 to a page, instead of a ListTags and a DescribeEndpoint apiece; the endpoint config
    and the component are read as before, and the status is the same."""

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            await until(first, cluster, lambda res, _: res.outcome == "settled")
        finally:
            first.close()
        settled = dict(cluster.status)
        before = dict(emulated_sagemaker.admin.calls())
        second = reconciler(cluster, search=True)
        try:
            result = await second.reconcile(body(cluster), deleting=False)
        finally:
            second.close()
        assert result.outcome == "settled"
        after = emulated_sagemaker.admin.calls()
        return settled, dict(cluster.status), {k: v - before.get(k, 0) for k, v in after.items()}

    settled, read_back, calls = asyncio.run(scenario())
    assert calls["Search"] == 2  # endpoints, models: one page each
    assert calls["ListTags"] == 2  # the endpoint config's and the component's
    assert calls.get("DescribeEndpoint", 0) == 0
    assert calls["DescribeInferenceComponent"] == 1
    assert read_back == settled


def test_what_was_just_created_is_not_described_before_a_list_shows_it(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """Passes that read an inventory taken before this process's creates (a refresh
    still under way when they asked) take the model and endpoint config from the Create
    answers and the endpoint as Creating, instead of describing them; once a List shows
    the endpoint InService the LLMEndpoint settles, still without a Describe."""
    one = {**SPEC, "resources": {**SPEC["resources"], "copies": 1}}

    async def scenario() -> tuple[PassResult, dict[str, int], dict[str, int]]:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            r.observer.cache.max_age = 3600.0  # the first inventory is every pass's
            for _ in range(3):
                await r.reconcile(body(cluster, one), deleting=False)
            early = dict(emulated_sagemaker.admin.calls())
            r.observer.cache.max_age = 0.0
            for _ in range(60):
                result = await r.reconcile(body(cluster, one), deleting=False)
                if result.outcome == "settled":
                    break
                await asyncio.sleep(SETTINGS.transition_poll_seconds)
        finally:
            r.close()
        return result, early, emulated_sagemaker.admin.calls()

    result, early, calls = asyncio.run(scenario())
    assert early["CreateEndpoint"] == 1 and early["ListEndpoints"] == 1
    assert "CreateInferenceComponent" not in early  # the endpoint read as Creating
    assert result.outcome == "settled"
    assert not {op for op in calls if op.startswith("Describe")}, calls
