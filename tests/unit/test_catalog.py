"""The instance catalog: the data the CRD, validation and cost estimates stand on."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from llm_operator.api import catalog


def test_g5_12xlarge_as_the_seeds_use_it() -> None:
    t = catalog.instance_type("ml.g5.12xlarge")
    assert t is not None
    assert (t.accelerators, t.accelerator_memory_gib, t.accelerator_kind) == (4, 24, "gpu")
    assert (t.vcpus, t.memory_gib) == (48, 192)
    assert t.hourly_usd == Decimal("7.09")
    assert t.family == "g5"


@pytest.mark.parametrize(
    ("name", "accelerators", "memory"),
    [
        ("ml.g5.xlarge", 1, 24),
        ("ml.g6.48xlarge", 8, 24),
        ("ml.g6e.12xlarge", 4, 48),
        ("ml.p4d.24xlarge", 8, 40),
        ("ml.p4de.24xlarge", 8, 80),
        ("ml.p5.48xlarge", 8, 80),
        ("ml.p5e.48xlarge", 8, 141),
        ("ml.inf2.48xlarge", 12, 32),
        ("ml.m5.xlarge", 0, 0),
        ("ml.c5.large", 0, 0),
    ],
)
def test_accelerators_of_each_family(name: str, accelerators: int, memory: int) -> None:
    t = catalog.instance_type(name)
    assert t is not None
    assert (t.accelerators, t.accelerator_memory_gib) == (accelerators, memory)


def test_unknown_type_is_none() -> None:
    assert catalog.instance_type("ml.g5.3xlarge") is None
    assert catalog.instance_type("g5.xlarge") is None


def test_families_cover_the_llm_instance_types() -> None:
    assert catalog.families() == sorted(
        ["g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "inf2", "m5", "c5"]
    )
    assert catalog.family_of("ml.g6e.xlarge") == "g6e"
    assert catalog.family_of("nonsense") == ""


def test_every_entry_is_consistent() -> None:
    for t in catalog.instance_types():
        assert re.fullmatch(r"ml\.[a-z0-9]+\.[0-9]*x?large", t.name), t.name
        assert t.vcpus > 0 and t.memory_gib > 0
        assert (t.accelerators == 0) == (t.accelerator_kind is None), t.name
        assert (t.accelerators == 0) == (t.accelerator_memory_gib == 0), t.name
        assert t.hourly_usd is None or t.hourly_usd > 0


def test_catalog_is_dated_and_sourced() -> None:
    c = catalog.load()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", c.as_of)
    assert c.region == "us-east-1"
    assert "sagemaker.md" in c.source


def test_hourly_cost_estimate() -> None:
    assert catalog.estimated_hourly_cost_usd("ml.g5.12xlarge", 1) == "7.09"
    assert catalog.estimated_hourly_cost_usd("ml.g5.12xlarge", 3) == "21.27"
    assert catalog.estimated_hourly_cost_usd("ml.g5.xlarge", 1) == "1.41"
    assert catalog.estimated_hourly_cost_usd("ml.g5.12xlarge", 0) == "0.00"
    assert catalog.hourly_cost("ml.p5.48xlarge", 2) == Decimal("226.136")


def test_unknown_price_gives_no_estimate() -> None:
    assert catalog.instance_type("ml.g6e.xlarge") is not None
    assert catalog.estimated_hourly_cost_usd("ml.g6e.xlarge", 1) is None
    assert catalog.estimated_hourly_cost_usd("ml.nope.large", 1) is None
    assert catalog.format_usd(None) is None
