"""The endpoints-by-phase gauge counts each LLMEndpoint once, in its latest phase."""

from __future__ import annotations

from llm_operator.shell.metrics import REGISTRY, PhaseBook


def gauge(phase: str) -> float | None:
    return REGISTRY.get_sample_value("llmop_endpoints", {"phase": phase})


def test_phase_counts_follow_moves_repeats_and_forgotten_endpoints() -> None:
    book = PhaseBook()
    for uid in ("a", "b", "c"):
        book.set(uid, "Creating")
    book.set("a", "InService")
    book.set("a", "InService")  # a repeated pass changes nothing
    book.set("b", "Failed")
    book.forget("c")
    book.forget("unknown")

    assert book.counts() == {
        "Pending": 0,
        "Creating": 0,
        "Updating": 0,
        "InService": 1,
        "Failed": 1,
        "Deleting": 0,
    }
    assert (gauge("InService"), gauge("Failed"), gauge("Creating")) == (1, 1, 0)
