"""LLMEndpointPolicy, decided: which policies govern a namespace and what they make of a spec.

Pure: the shell hands in the policy objects, the namespace's labels and the
typed spec; this package answers with the effective spec (defaults filled where
the tenant left a field unset, enforced tags on top), the policies' limits
checked against it, and the budget arithmetic. Several policies governing one
namespace combine so that none is weakened: every limit holds (the strictest
wins), every budget holds, and defaults merge in policy-name order (the first
policy by name that sets a default wins; a different value from a later one is a
conflict, reported on the policies' status).

parsed: the objects and reasons; selection: which govern a namespace; defaults: the
effective spec and conflicts; limits: per-LLMEndpoint rules and adoption; budget:
per-namespace counting; status: the policy's own status.
"""

from llm_operator.core.policy.budget import (
    ADMITTED,
    POOL_KIND,
    RUNNING,
    Admission,
    BudgetLine,
    Usage,
    admit,
    budget_lines,
    budgets,
    ceiling_cost,
    endpoint_ceiling,
    parse_usd,
    pool_ceiling,
    pool_key,
    raw_ceiling,
    standing,
    usage_of,
)
from llm_operator.core.policy.defaults import Applied, Conflict, Governed, conflicts, govern
from llm_operator.core.policy.limits import (
    adoption_refusal,
    ceiling_copies,
    ceiling_instances,
    check_limits,
    matches_glob,
)
from llm_operator.core.policy.parsed import (
    ADOPTION_NOT_ALLOWED,
    BUDGET_EXCEEDED,
    DEFAULTS_INVALID,
    PRICE_UNKNOWN,
    VIOLATION,
    Policy,
    parse,
)
from llm_operator.core.policy.selection import governing, selects
from llm_operator.core.policy.status import namespace_status, policy_status, refused

__all__ = [
    "ADMITTED",
    "ADOPTION_NOT_ALLOWED",
    "BUDGET_EXCEEDED",
    "DEFAULTS_INVALID",
    "POOL_KIND",
    "PRICE_UNKNOWN",
    "RUNNING",
    "VIOLATION",
    "Admission",
    "Applied",
    "BudgetLine",
    "Conflict",
    "Governed",
    "Policy",
    "Usage",
    "admit",
    "adoption_refusal",
    "budget_lines",
    "budgets",
    "ceiling_copies",
    "ceiling_cost",
    "ceiling_instances",
    "check_limits",
    "conflicts",
    "endpoint_ceiling",
    "govern",
    "governing",
    "matches_glob",
    "namespace_status",
    "parse",
    "parse_usd",
    "policy_status",
    "pool_ceiling",
    "pool_key",
    "raw_ceiling",
    "refused",
    "selects",
    "standing",
    "usage_of",
]
