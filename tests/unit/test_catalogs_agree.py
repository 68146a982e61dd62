"""The operator's instance catalog and the emulator's describe the same hardware.

They stay two files (the emulator imports nothing from the operator), so this test is
what keeps them from drifting: a type the operator offers must be one the emulator
sizes alike, or the emulator would accept or refuse inference component copies that
SageMaker would not. Each catalog is read through its own loader; the raw emulator
file is read only to notice a field this test does not compare yet.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

import sagemaker_emulator
from llm_operator.api import catalog as operator_catalog
from sagemaker_emulator import catalog as emulator_catalog

OPERATOR_TYPES = {t.name: t for t in operator_catalog.instance_types()}

# The emulator's field for each figure the operator's catalog holds. The emulator
# keeps no price: SageMaker's API never reports one, so there is nothing to drift.
COMPARED = {
    "accelerators": "accelerators",
    "accelerator_memory_gib": "accelerator_memory_gib",
    "vcpus": "vcpus",
    "memory_gib": "memory_gib",
    "accelerator_model": "accelerator",
}


def _emulator_raw() -> dict[str, dict[str, object]]:
    text = resources.files(sagemaker_emulator).joinpath("catalog.json").read_text()
    types: dict[str, dict[str, object]] = json.loads(text)["instance_types"]
    return types


def test_the_emulator_knows_every_type_the_operator_offers() -> None:
    # An unknown type is a small CPU host to the emulator: an operator type missing
    # there would be mis-sized rather than refused.
    missing = sorted(n for n in OPERATOR_TYPES if not emulator_catalog.known(n))
    assert missing == []


@pytest.mark.parametrize("name", sorted(OPERATOR_TYPES))
def test_a_type_in_both_catalogs_has_the_same_hardware(name: str) -> None:
    ours = OPERATOR_TYPES[name]
    theirs = emulator_catalog.instance_type(name)
    raw = _emulator_raw()[name]
    assert {
        "accelerators": theirs.accelerators,
        "accelerator_memory_gib": theirs.accelerator_memory_gib,
        "vcpus": theirs.vcpus,
        "memory_gib": theirs.memory_gib,
        "accelerator_model": raw["accelerator"],
    } == {field: getattr(ours, field) for field in COMPARED}


def test_every_figure_the_emulator_holds_is_compared() -> None:
    # A new emulator field (a price, say) must be mapped above before it can drift.
    fields = {key for entry in _emulator_raw().values() for key in entry}
    assert fields == set(COMPARED.values())
