"""The registry: every concrete action class, read from the family modules themselves.

A class is concrete when it declares, itself or by inheritance, `operation`, `kind`,
`effect` and `guard`. Consumers that must cover every call (the executor's tables,
`plan`, `audit`, the IAM policies and their tests) iterate over `ACTIONS` rather than
a list kept by hand, so a new class is covered, or a test fails, the day it is added.
"""

from __future__ import annotations

from llm_operator.core.actions import alarms, components, sagemaker, scaling, tagging
from llm_operator.core.actions.base import Action

# One module per resource family; a new module joins here.
FAMILIES = (sagemaker, components, alarms, scaling, tagging)
_DECLARATIONS = ("operation", "kind", "effect", "guard")


def is_concrete(cls: type[Action]) -> bool:
    """Whether the class names one call on one kind: all it needs to be sent."""
    return all(hasattr(cls, name) for name in _DECLARATIONS)


# In family order, each family's classes in the order its module defines them.
ACTIONS: tuple[type[Action], ...] = tuple(
    value
    for family in FAMILIES
    for value in vars(family).values()
    if isinstance(value, type)
    and issubclass(value, Action)
    and value.__module__ == family.__name__
    and is_concrete(value)
)
