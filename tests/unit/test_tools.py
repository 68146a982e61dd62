"""The pure pieces of plan, invoke and audit: engine shapes, diffs, replayed passes, order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_operator.core import invocation
from llm_operator.core.attribution import Attribution
from llm_operator.core.desired import CLUSTER_ID_TAG, CLUSTER_TAG
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.shell.commands import audit, kube, plan
from llm_operator.shell.secrets import Redactor
from tests.unit.planner_factory import make_desired


def test_tgi_request_and_answers() -> None:
    tgi = invocation.engine("tgi")
    assert tgi.name == "tgi"
    assert json.loads(invocation.encode_request(tgi, "hi", 5, False)) == {
        "inputs": "hi",
        "parameters": {"max_new_tokens": 5},
    }
    assert json.loads(invocation.encode_request(tgi, "hi", 5, True))["stream"] is True
    assert invocation.decode_answer(tgi, b'[{"generated_text": " a b"}]') == " a b"


def test_every_engine_has_a_shape_and_the_others_speak_openai_chat() -> None:
    from llm_operator.api.engines import ENGINES

    assert set(ENGINES) <= set(invocation.ENGINES)
    assert invocation.engine("vllm") is invocation.engine("some-new-engine")
    chat = invocation.engine("vllm")
    assert chat.request("hi", 3, True) == {
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 3,
        "stream": True,
    }
    assert invocation.decode_answer(chat, b'{"choices": [{"message": {"content": "ok"}}]}') == "ok"


def test_streamed_events_split_anywhere_give_the_same_text() -> None:
    events = b"".join(
        b'data:{"token": {"text": "%s", "special": false}}\n\n' % word for word in (b" a", b" b")
    )
    for cut in range(len(events)):
        lines = invocation.EventLines(invocation.TGI)
        texts = lines.feed(events[:cut]) + lines.feed(events[cut:]) + lines.flush()
        assert "".join(texts) == " a b"


def test_diff_masks_every_token_and_keeps_only_changes() -> None:
    before = {"PrimaryContainer": {"Environment": {"HF_TOKEN": "old-secret", "MAX": "1"}}}
    after = {"PrimaryContainer": {"Environment": {"HF_TOKEN": "new-secret", "MAX": "2"}}}
    changes = plan.diff(before, after, Redactor(["new-secret"]))
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("PrimaryContainer.Environment.MAX", "1", "2")
    ]
    created = plan.diff({}, after, Redactor())
    assert "new-secret" not in repr(created) and "old-secret" not in repr(created)


def test_replayed_passes_reach_the_whole_creation_in_waves() -> None:
    want = make_desired(adapters={"bot": "s3://b/bot.tar.gz"})
    steps, first = plan.waves(want, ObservedState(), PlanMemory(), "Delete")
    order = [(wave, plan.action_row(a)[0]) for wave, a, _ in steps]
    assert order[:3] == [(1, "CreateModel"), (1, "CreateEndpointConfig"), (1, "CreateEndpoint")]
    assert (2, "CreateInferenceComponent") in order
    assert order[-1] == (3, "CreateInferenceComponent")  # the adapter needs its base
    assert len(first.actions) == 3


def test_audit_deletes_what_stands_on_something_first() -> None:
    def r(kind: str, name: str, base: str | None = None) -> audit.Resource:
        return audit.Resource("a", "us-east-1", kind, name, name, "u", "ns/n", None, base=base)

    found = [
        r("model", "m"),
        r("endpoint", "e"),
        r("inference component", "base"),
        r("endpoint config", "c"),
        r("inference component", "adapter", base="base"),
    ]
    assert [x.name for x in audit.deletion_order(found)] == ["adapter", "base", "e", "c", "m"]


def test_kubectl_flags_pick_the_context_and_its_namespace(tmp_path: Path) -> None:
    """--context and --namespace mean what they mean to kubectl (nothing is contacted)."""
    config = tmp_path / "kubeconfig"
    config.write_text(
        """\
apiVersion: v1
kind: Config
current-context: a
clusters:
  - name: c
    cluster: {server: "https://127.0.0.1:1"}
users:
  - name: u
    user: {token: t}
contexts:
  - name: a
    context: {cluster: c, user: u, namespace: team-a}
  - name: b
    context: {cluster: c, user: u}
"""
    )
    assert kube.connect(str(config)).namespace == "team-a"
    assert kube.connect(str(config), context="b").namespace == "default"
    assert kube.connect(str(config), context="a", namespace="x").namespace == "x"
    with pytest.raises(kube.CommandError, match="no usable kubeconfig"):
        kube.connect(str(config), context="nope")
    with pytest.raises(kube.CommandError, match="no usable kubeconfig"):
        kube.connect(str(tmp_path / "missing"))


def test_audit_takes_a_resource_tagged_retained_as_retained_without_its_event() -> None:
    """The llmoperator.io/retained tag outlives the Retained Event (about an hour); the
    Event still counts for what was kept before the tag existed."""

    def r(uid: str, retained_at: str | None = None) -> audit.Resource:
        return audit.Resource(
            "a",
            "us-east-1",
            "model",
            uid,
            uid,
            uid,
            "ns/n",
            None,
            retained_at=retained_at,
            attribution=Attribution.THIS,
        )

    tagged, by_event, orphan, live = r("t", "2025-06-01T12:00:00Z"), r("e"), r("o"), r("l")
    audit.classify([tagged, by_event, orphan, live], live={"l": "ns/l"}, retained={"e"})
    assert [x.state for x in (tagged, by_event, orphan, live)] == [
        audit.RETAINED,
        audit.RETAINED,
        audit.ORPHANED,
        audit.IN_USE,
    ]


def test_audit_orphans_only_what_this_clusters_tags_attribute() -> None:
    """A uid that names no LLMEndpoint here is an orphan only when the resource's cluster
    tags name this cluster; another cluster's is never an orphan, and a resource with no
    cluster tag is unattributed. A live uid is ours, stamped or not."""
    here = audit.Here("id-east", "east")

    def r(uid: str, tags: dict[str, str]) -> audit.Resource:
        return audit.Resource(
            "a", "us-east-1", "endpoint", uid, uid, uid, "apps/chat", "InService",
            attribution=here.attribute(tags),
        )  # fmt: skip

    ours = r("o", {CLUSTER_ID_TAG: "id-east"})
    theirs = r("w", {CLUSTER_ID_TAG: "id-west"})
    named_theirs = r("n", {CLUSTER_TAG: "west"})
    named_ours = r("m", {CLUSTER_TAG: "east"})
    renamed = r("x", {CLUSTER_ID_TAG: "id-west", CLUSTER_TAG: "east"})
    bare = r("u", {})
    live_unstamped = r("l", {})
    resources = [ours, theirs, named_theirs, named_ours, renamed, bare, live_unstamped]
    audit.classify(resources, live={"l": "apps/chat"}, retained=set())
    assert [x.state for x in resources] == [
        audit.ORPHANED,
        audit.OTHER_CLUSTER,
        audit.OTHER_CLUSTER,
        audit.ORPHANED,
        audit.OTHER_CLUSTER,
        audit.UNATTRIBUTED,
        audit.IN_USE,
    ]
    assert audit.OTHER_CLUSTER not in {x.state for x in audit.reported(resources)}
    assert audit.OTHER_CLUSTER in {x.state for x in audit.reported(resources, all_clusters=True)}
