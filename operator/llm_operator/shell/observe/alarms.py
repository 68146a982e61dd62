"""Reads the CloudWatch alarms of one LLMEndpoint: the rollback alarms of
spec.rollout.autoRollback (read afresh each time they are asked for) and the
no-capacity alarm of spec.autoscaling (from the region's scaling inventory)."""

from __future__ import annotations

from collections.abc import Collection

from llm_operator.core import naming
from llm_operator.core.desired import DesiredState
from llm_operator.core.kinds import CLOUDWATCH, Kind
from llm_operator.core.observed import ObservedAlarm, ObservedScalingAlarm
from llm_operator.shell.observe.cache import tag_owner
from llm_operator.shell.observe.inventory import ScalingInventory
from llm_operator.shell.observe.reading import Reading


async def read_rollback_alarms(
    reading: Reading, names: Collection[str]
) -> dict[str, ObservedAlarm]:
    """The rollback alarms by name, with their ownership tags (always read afresh:
    an alarm deleted and created again by someone else keeps its ARN)."""
    found: dict[str, ObservedAlarm] = {}
    for name in sorted(set(names)):
        alarm, tags = await reading.cache.sagemaker.alarm_owner(reading.place, name, reading.lane)
        if alarm is None:
            continue
        who = tag_owner(tags)
        threshold = alarm.get("Threshold")
        found[name] = ObservedAlarm(
            name=name,
            threshold=float(threshold) if threshold is not None else None,
            owner_uid=who.uid,
            owner_name=who.name,
            owner_cluster_id=who.cluster_id,
            arn=str(alarm.get("AlarmArn", "")),
        )
    return found


async def refresh_scaling_alarm(
    reading: Reading, inventory: ScalingInventory, desired: DesiredState, recent: bool
) -> None:
    """Describes the no-capacity alarm directly when we changed it since the inventory,
    or on a spec change when it is wanted or listed and the inventory is not `recent`;
    the answer replaces the inventory's."""
    cache, place = reading.cache, reading.place
    name = naming.no_capacity_alarm_name(desired.alarms_named_after)
    wanted = desired.scaling is not None and desired.scaling.min_capacity == 0
    if not (
        cache.stale(place, Kind.ALARM, name, inventory)
        or (reading.full and not recent and (wanted or name in inventory.alarms))
    ):
        return
    found = await cache.sagemaker.call(
        place, "DescribeAlarms", {"AlarmNames": [name]}, lane=reading.lane, service=CLOUDWATCH
    )
    listed = found.get("MetricAlarms") or []
    inventory.alarms.pop(name, None)
    if listed:
        inventory.alarms[name] = listed[0]
    cache.seen(place, [(Kind.ALARM, name)])


async def read_scaling_alarm(
    reading: Reading, inventory: ScalingInventory, desired: DesiredState
) -> ObservedScalingAlarm | None:
    """The no-capacity alarm as the inventory holds it, and who its tags name.

    On a pool, one named after the pool's endpoint (as an earlier version named it)
    is found too when ours: the pass replaces it by its own name."""
    name = naming.no_capacity_alarm_name(desired.alarms_named_after)
    summary = inventory.alarms.get(name)
    legacy = naming.no_capacity_alarm_name(desired.endpoint_name)
    if summary is None and desired.host is not None and legacy in inventory.alarms:
        name, summary = legacy, inventory.alarms[legacy]
    if summary is None:
        return None
    who = await reading.owner(
        str(summary.get("AlarmArn", "")),
        summary.get("AlarmConfigurationUpdatedTimestamp"),
        name,
        service=CLOUDWATCH,
    )
    renamed = name == legacy and name != naming.no_capacity_alarm_name(desired.alarms_named_after)
    if renamed and who.uid != desired.owner.uid:
        return None  # another model's on the same pool: none of ours
    return ObservedScalingAlarm(
        name=name,
        actions=tuple(str(a) for a in summary.get("AlarmActions") or ()),
        settings=summary,
        state=summary.get("StateValue"),
        owner_uid=who.uid,
        owner_name=who.name,
        owner_cluster_id=who.cluster_id,
        arn=str(summary.get("AlarmArn", "")),
    )
