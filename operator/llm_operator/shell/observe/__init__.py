"""Builds `ObservedState` for one LLMEndpoint without a Describe per resource per pass.

Designed for a thousand LLMEndpoints per replica: an inventory per scope (region and
AWS identity, so per account and region) from paginated ListEndpoints /
ListInferenceComponents / ListModels / ListEndpointConfigs is shared by every
resource of that scope; one account's inventory never holds another's resources.
Each caller says how old an inventory it accepts: a resource that is moving wants one
no older than the poll interval, a settled one accepts one a resync interval old, so
a quiet region costs a few List calls per resync interval. The inventory is indexed
when it is taken, so a pass costs the same with ten or ten thousand resources.

A Describe happens only for a resource that is transitioning, whose listed status or
LastModifiedTime changed since the cached Describe (whatever changes an endpoint or a
component moves one or the other, so drift is seen from the List), that we acted on
after the inventory was taken, an endpoint one of whose components changed its copies
(managed instance scaling changes the endpoint's instances without moving its own
LastModifiedTime), or
whose cached Describe expired. A cached Describe expires on its resource's own tick,
once per `sweep_max_age` (a safety sweep, far longer than a resync), the ticks of
different resources spread evenly over that period: resources created together do
not all re-Describe in the same second, and a settled resource costs one Describe per
period. Ownership tags are read (ListTags, cached by ARN and creation time) only for a
resource that is not recorded as ours.

spec.autoscaling's scalable targets, scaling policies and alarms are observed the
same way: a second per-region inventory (DescribeScalableTargets,
DescribeScalingPolicies for the sagemaker namespace, DescribeAlarms), indexed once
per refresh, taken only while some LLMEndpoint of the region has or had autoscaling.
The targets are listed again once per `targets_max_age` (the resync interval: their
bounds are what the autoscaler obeys, so bounds changed by hand are seen within one
resync); the policies and alarms are accepted as old as `describe_max_age`, since
only someone acting changes them. What this LLMEndpoint
changed since, and a spec change, are asked for directly (see `scaling`).

The modules, from the bottom up: `inventory` (what a List refresh holds and how it is
taken), `cache` (the inventories of every scope, single-flight refresh, pruning, the
Describe, owner and touched caches), `reading` (one pass's view of the cache), the
readers `endpoint` (endpoint, endpoint configs, models), `components`, `scaling`
(targets, policies, activities) and `alarms`, and `observer` (`Observer`, `Look`).
"""

from llm_operator.shell.observe.observer import Look, Observer

__all__ = ["Look", "Observer"]
