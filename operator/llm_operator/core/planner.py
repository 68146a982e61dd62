"""The pure decision: which SageMaker calls bring what exists closer to what should exist.

`plan()` does no I/O and reads no clock, so every transition is a table-driven
unit test. The pass itself lives in `reconcile` (converge to the spec) and
`teardown` (delete or retain), each concern of it in a module of `passes`; what
it remembers between passes in `memory`; its result in `plan`; the comparisons
it makes in `compare`.
"""

from __future__ import annotations

from llm_operator.api.models import DeletionPolicy
from llm_operator.core import reconcile, teardown
from llm_operator.core.desired import DesiredState
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.passes import hosted
from llm_operator.core.plan import Plan


def plan(
    desired: DesiredState,
    observed: ObservedState,
    *,
    deleting: bool,
    deletion_policy: DeletionPolicy,
    memory: PlanMemory,
) -> Plan:
    """The calls to make now, and what to tell the user about where things stand."""
    if desired.host is not None:
        # On a pool: the other LLMEndpoints' components on its endpoint are not ours
        # to see (never a conflict, never touched).
        observed = hosted.view(desired, observed)
    if not deleting:
        return reconcile.reconcile(desired, observed, memory)
    if deletion_policy == "Retain":
        return teardown.retain(desired, observed, memory)
    return teardown.delete(desired, observed, memory)
