"""Application Auto Scaling and CloudWatch alarms acting on the emulator, as AWS's do.

moto's server (`--with-moto`) stores scalable targets, scaling policies and
alarms but never acts on them. The autoscaler reads them in-process (moto runs
in the emulator's process) and acts on the emulator's clock: every tick it
evaluates target tracking policies against the simulated load (load.py) and
alarms on `NoCapacityInvocationFailures`, and sets DesiredCopyCount /
DesiredInstanceCount through the same code as UpdateInferenceComponentRuntimeConfig
and UpdateEndpointWeightsAndCapacities. Ticks are applied by the store's catch-up
(state.py) as of their own due time, like transitions.

Time: AWS durations (metric periods, alarm evaluation, cooldowns) are scaled as the
deployments' are: one `delay` stands for AWS_SECONDS_PER_DELAY seconds of AWS time.
Ticks come every 10 AWS seconds, but no more often than MIN_TICK_SECONDS, which bounds
the autoscaler's CPU use whatever the delay (0 included: then AWS time takes no time
and every rule acts at the next tick).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .async_inference import BACKLOG_PER_INSTANCE_METRIC, WITHOUT_CAPACITY_METRIC, AsyncQueues
from .caller import Caller
from .deployments import AWS_SECONDS_PER_DELAY
from .errors import AwsError
from .load import LoadBook, Target
from .resources import endpoints, inference_components
from .resources.common import Context
from .state import Record, Region, Store

TICK = 10.0  # AWS seconds between evaluations (the high-resolution metric period)
MIN_TICK_SECONDS = 0.1  # emulator seconds: ticks come no more often than this
MAX_CATCH_UP_TICKS = 2000  # after a longer idle time, older ticks are skipped (see below)
SCALE_OUT_PERIODS = 3  # target tracking's high alarm: 3 datapoints above the target
SCALE_IN_PERIODS = 15  # its low alarm: 15 datapoints below 90% of the target
SCALE_IN_FRACTION = 0.9
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
ACTIVITIES = "emulator_scaling_activities"  # attribute of moto's backend holding our activities

# predefined metric -> (load it measures, metric period in AWS seconds)
PREDEFINED = {
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": ("concurrent", 10.0),
    "SageMakerInferenceComponentInvocationsPerCopy": ("invocations", 60.0),
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": ("concurrent", 10.0),
    "SageMakerVariantInvocationsPerInstance": ("invocations", 60.0),
}
# customized metric -> (load it measures, period): an async endpoint's queue per instance
CUSTOMIZED = {BACKLOG_PER_INSTANCE_METRIC: ("backlog", 60.0)}
_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass
class Scalable:
    """A SageMaker resource a scalable target names, as the autoscaler sees it."""

    caller: Caller
    kind: str  # "component" or "variant"
    name: str  # component name, or endpoint name
    variant: str | None
    record: Record  # the component or endpoint record
    load: Target

    @property
    def desired(self) -> int:
        if self.kind == "component":
            return int(self.record["_desired"] or 0)
        return int(self._variant().get("DesiredInstanceCount") or 0)

    @property
    def current(self) -> int:
        """Copies (or instances) serving now: what per-copy metrics divide by."""
        if self.kind == "component":
            return len(self.record["_placement"])
        return int(self._variant().get("CurrentInstanceCount") or 0)

    @property
    def busy(self) -> bool:
        """SageMaker refuses a new desired count until the last change is done."""
        if self.kind == "component":
            return bool(self.record["InferenceComponentStatus"] != "InService")
        return bool(self.record["EndpointStatus"] != "InService")

    @property
    def noun(self) -> str:
        return "copy count" if self.kind == "component" else "instance count"

    def _variant(self) -> Record:
        return next(
            (v for v in self.record["ProductionVariants"] if v["VariantName"] == self.variant),
            {},
        )


@dataclass
class Tracking:
    """How long one target tracking policy's metric has been above or below its target."""

    high_since: float | None = None
    low_since: float | None = None


@dataclass
class History:
    """When a scalable target last scaled, for the cooldowns."""

    last_out: float = -math.inf
    last_in: float = -math.inf


class Autoscaler:
    """The store's ticker: evaluates scaling policies and alarms at each tick's due time."""

    def __init__(self, store: Store, start: float) -> None:
        self.store = store
        self.last_tick = start
        self.tracking: dict[tuple[str, ...], Tracking] = {}
        self.history: dict[tuple[str, ...], History] = {}
        self.alarm_checked: dict[tuple[str, ...], float] = {}
        self.in_progress: list[tuple[Scalable, dict[str, Any]]] = []
        store.load.on_failure = self.publish_failure
        self.queues = AsyncQueues(store, self.seconds)  # InvokeEndpointAsync's queues

    def seconds(self, aws_seconds: float) -> float:
        """Emulator seconds for a duration in AWS seconds."""
        return aws_seconds * self.store.delay / AWS_SECONDS_PER_DELAY

    @property
    def interval(self) -> float:
        """Emulator seconds between ticks."""
        return max(self.seconds(TICK), MIN_TICK_SECONDS)

    # -- the Ticker protocol (state.py) ------------------------------------------

    def next_due(self, now: float) -> float | None:
        """The next tick due by `now`, or None.

        After a long idle time only the last MAX_CATCH_UP_TICKS ticks are evaluated: the
        policies measure durations (breach since, last scaled at), not tick counts, so the
        result is the same while the load did not change.
        """
        interval = self.interval
        due = self.last_tick + interval
        if due > now:
            return None
        if (now - due) / interval > MAX_CATCH_UP_TICKS:
            self.last_tick = now - MAX_CATCH_UP_TICKS * interval
            due = self.last_tick + interval
        return due

    def run(self, at: float) -> None:
        self.last_tick = at
        for (account, region_name), region in list(self.store.regions.items()):
            caller = Caller(account, region_name)
            backends = _backends(caller)
            if backends is None:
                continue
            scaling, cloudwatch = backends
            self._finish_activities(caller, region, at)
            self.queues.run(caller, region, cloudwatch, at)
            tracking: dict[tuple[str, str], list[Any]] = {}
            for policy in _snapshot(scaling.policies):
                if (
                    policy.service_namespace == "sagemaker"
                    and policy.policy_type == "TargetTrackingScaling"
                ):
                    key = (policy.resource_id, policy.scalable_dimension)
                    tracking.setdefault(key, []).append(policy)
            for target in _snapshot(scaling.targets.get(COMPONENT_DIMENSION, {})) + _snapshot(
                scaling.targets.get(VARIANT_DIMENSION, {})
            ):
                if target.service_namespace == "sagemaker":
                    policies = tracking.get((target.resource_id, target.scalable_dimension), [])
                    self._track(caller, region, cloudwatch, target, policies, at)
            for alarm in _snapshot(cloudwatch.alarms):
                if alarm.namespace == "AWS/SageMaker" and alarm.metric_name in (
                    NO_CAPACITY_METRIC,
                    WITHOUT_CAPACITY_METRIC,
                ):
                    self._alarm(caller, region, scaling, cloudwatch, alarm, at)

    def reset(self, now: float) -> None:
        self.last_tick = now
        self.tracking.clear()
        self.history.clear()
        self.alarm_checked.clear()
        self.in_progress.clear()
        self.queues.clear()

    # -- target tracking --------------------------------------------------------

    def _track(
        self,
        caller: Caller,
        region: Region,
        cloudwatch: Any,
        target: Any,
        policies: list[Any],
        at: float,
    ) -> None:
        """Target tracking of one scalable target by its policies (AWS's AlarmHigh/AlarmLow)."""
        scalable = _resolve(caller, region, target.resource_id, target.scalable_dimension)
        if scalable is None:
            return
        low, high = int(target.min_capacity or 0), int(target.max_capacity or 0)
        suspended = target.suspended_state or {}
        history = self.history.setdefault(_key(caller, target.resource_id), History())
        desired = scalable.desired
        if not scalable.busy and (desired < low or desired > high):
            new = min(max(desired, low), high)  # the range changed: AWS moves into it at once
            self._scale(scalable, target, new, at, "the scalable target's range changed")
            return
        outs: list[tuple[int, str]] = []
        ins: list[tuple[int, str]] = []
        for policy in policies:
            config = policy.target_tracking_scaling_policy_configuration or {}
            metric_type = (config.get("PredefinedMetricSpecification") or {}).get(
                "PredefinedMetricType"
            )
            custom = (config.get("CustomizedMetricSpecification") or {}).get("MetricName")
            measured = PREDEFINED.get(str(metric_type)) or CUSTOMIZED.get(str(custom))
            state = self.tracking.setdefault(
                _key(caller, target.resource_id, policy.policy_name), Tracking()
            )
            alarms = {side: a for a in policy.alarms for side in ("High", "Low") if side in a.name}
            current = scalable.current
            if measured is None or current == 0:  # no per-copy datapoint without copies
                state.high_since = state.low_since = None
                for alarm in alarms.values():
                    _set_state(cloudwatch, alarm, "INSUFFICIENT_DATA", at)
                continue
            what, period = measured
            goal = float(config["TargetValue"])
            load = (
                float(self.queues.backlog(caller, scalable.name))
                if what == "backlog"
                else self._load(scalable.load, what, at)
            )
            value = load / current
            if value > goal:
                state.low_since = None
                state.high_since = at if state.high_since is None else state.high_since
            elif value < SCALE_IN_FRACTION * goal:
                state.high_since = None
                state.low_since = at if state.low_since is None else state.low_since
            else:
                state.high_since = state.low_since = None
            high_alarm = state.high_since is not None and (
                at - state.high_since >= self.seconds(SCALE_OUT_PERIODS * period) - 1e-9
            )
            low_alarm = state.low_since is not None and (
                at - state.low_since >= self.seconds(SCALE_IN_PERIODS * period) - 1e-9
            )
            for side, alarmed in (("High", high_alarm), ("Low", low_alarm)):
                if side in alarms:
                    _set_state(cloudwatch, alarms[side], "ALARM" if alarmed else "OK", at)
            wanted = math.ceil(load / goal - 1e-9)
            cause = "monitor alarm {} in state ALARM triggered policy " + policy.policy_name
            name = f"TargetTracking-{target.resource_id}-Alarm"
            if high_alarm:
                cooldown = float(config.get("ScaleOutCooldown", 300))
                if at - history.last_out >= self.seconds(cooldown) - 1e-9:
                    alarm_name = alarms["High"].name if "High" in alarms else f"{name}High"
                    outs.append((min(wanted, high), cause.format(alarm_name)))
            elif low_alarm and not config.get("DisableScaleIn"):
                cooldown = float(config.get("ScaleInCooldown", 300))
                if at - history.last_in >= self.seconds(cooldown) - 1e-9:
                    alarm_name = alarms["Low"].name if "Low" in alarms else f"{name}Low"
                    ins.append((max(wanted, low), cause.format(alarm_name)))
        if scalable.busy:  # SageMaker is still applying the last change; the alarms stay
            return
        # Scale out when any policy asks; scale in only when every policy agrees.
        if outs and not suspended.get("DynamicScalingOutSuspended"):
            new, cause = max(outs)
            if new > desired:
                self._scale(scalable, target, new, at, cause)
                history.last_out = at
        elif ins and len(ins) == len(policies) and not suspended.get("DynamicScalingInSuspended"):
            new, cause = max(ins)
            if new < desired:
                self._scale(scalable, target, new, at, cause)
                history.last_in = at

    def _load(self, target: Target, what: str, at: float) -> float:
        level = self.store.load.level(target)
        if what == "concurrent":
            return level.concurrent_requests
        minute = self.seconds(60.0)
        if minute <= 0:  # with no delay an AWS minute takes no time: calls make no rate
            return level.invocations_per_minute
        window = max(minute, self.interval)  # an AWS minute may be shorter than a tick
        observed = LoadBook.count(self.store.load.invocations.get(target), at - window, at)
        return level.invocations_per_minute + observed * minute / window

    # -- alarms and step scaling --------------------------------------------------

    def publish_failure(self, target: Target, at: float) -> None:
        """PutMetricData of one NoCapacityInvocationFailures datapoint into moto's CloudWatch."""
        backends = _backends(Caller(target.account, target.region))
        if backends is None or target.component is None:
            return
        backends[1].put_metric_data(
            "AWS/SageMaker",
            [
                {
                    "MetricName": NO_CAPACITY_METRIC,
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": target.component}],
                    "Value": 1.0,
                    "Unit": "Count",
                    "Timestamp": _moto_time(at),
                }
            ],
        )

    def _alarm(
        self,
        caller: Caller,
        region: Region,
        scaling: Any,
        cloudwatch: Any,
        alarm: Any,
        at: float,
    ) -> None:
        period = self.seconds(float(alarm.period or 60))
        key = _key(caller, alarm.name)
        checked = self.alarm_checked.get(key, -math.inf)
        if at - checked < period - 1e-9:
            return  # an alarm is evaluated once per period
        self.alarm_checked[key] = at
        dims = {d.name: d.value for d in alarm.dimensions}
        component = dims.get("InferenceComponentName")
        periods = int(alarm.evaluation_periods or 1)
        values: list[float | None] = []
        if alarm.metric_name == WITHOUT_CAPACITY_METRIC:
            endpoint = dims.get("EndpointName")
            if endpoint is None:
                return
            # 1 for each period the queue has held requests with no instance to take them.
            since = self.queues.without_capacity_since(caller, endpoint)
            values = [
                1.0 if since is not None and since <= at - index * period + 1e-9 else 0.0
                for index in range(periods)
            ]
            component = None
        elif component is None:
            return
        times = (
            self.store.load.failures.get(Target.of_component(caller, component))
            if component is not None
            else None
        )
        for index in range(periods if component is not None else 0):
            # Ticks need not fall on period boundaries: the newest datapoint reaches back to
            # the previous evaluation so that no datapoint falls between two of them.
            start = at - (index + 1) * period
            if index == 0 and checked < start:
                start = max(checked, at - 2 * max(period, self.interval))
            count = LoadBook.count(times, start, at - index * period)
            statistic = alarm.statistic or "Sum"
            values.append(
                None if count == 0 else float(count) if statistic in ("Sum", "SampleCount") else 1.0
            )
        state = _alarm_state(alarm, values)
        if state is None:
            return
        _set_state(cloudwatch, alarm, state, at)
        if state != "ALARM" or not alarm.actions_enabled:
            return
        # Application Auto Scaling actions run again every period the alarm stays in ALARM.
        present = [v for v in values if v is not None]
        value = max(present) if present else float(alarm.threshold)
        for action in alarm.alarm_actions or []:
            policy = next(
                (p for p in _snapshot(scaling.policies) if action.startswith(p.policy_arn)),
                None,
            )
            if policy is not None and policy.policy_type == "StepScaling":
                self._step(caller, region, scaling, policy, value - alarm.threshold, at, alarm)

    def _step(
        self,
        caller: Caller,
        region: Region,
        scaling: Any,
        policy: Any,
        delta: float,
        at: float,
        alarm: Any,
    ) -> None:
        config = policy.step_scaling_policy_configuration or {}
        target = scaling.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)
        if target is None:
            return
        scalable = _resolve(caller, region, policy.resource_id, policy.scalable_dimension)
        if scalable is None or scalable.busy:
            return
        history = self.history.setdefault(
            _key(caller, policy.resource_id, policy.policy_name), History()
        )
        if at - history.last_out < self.seconds(float(config.get("Cooldown", 0))) - 1e-9:
            return
        step = next(
            (
                s
                for s in config.get("StepAdjustments", [])
                if float(s.get("MetricIntervalLowerBound", -math.inf)) <= delta
                and delta < float(s.get("MetricIntervalUpperBound", math.inf))
            ),
            None,
        )
        if step is None:
            return
        desired = scalable.desired
        adjustment = int(step["ScalingAdjustment"])
        kind = config.get("AdjustmentType", "ChangeInCapacity")
        if kind == "ExactCapacity":
            new = adjustment
        elif kind == "PercentChangeInCapacity":
            change = int(desired * adjustment / 100)
            minimum = int(config.get("MinAdjustmentMagnitude") or 0)
            if abs(change) < minimum:
                change = minimum if adjustment > 0 else -minimum
            new = desired + change
        else:
            new = desired + adjustment
        new = min(max(new, int(target.min_capacity or 0)), int(target.max_capacity or 0))
        if new == desired:
            return
        cause = f"monitor alarm {alarm.name} in state ALARM triggered policy {policy.policy_name}"
        self._scale(scalable, target, new, at, cause)
        history.last_out = at

    # -- acting and recording ---------------------------------------------------

    def _scale(self, scalable: Scalable, target: Any, new: int, at: float, cause: str) -> None:
        ctx = Context(self.store, scalable.caller, at)
        activity: dict[str, Any] = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": "sagemaker",
            "ResourceId": target.resource_id,
            "ScalableDimension": target.scalable_dimension,
            "Description": f"Setting desired {scalable.noun} to {new}.",
            "Cause": f"{cause} changing the desired {scalable.noun} from "
            f"{scalable.desired} to {new}",
            "StartTime": at,
            "StatusCode": "InProgress",
            "StatusMessage": "",
        }
        try:
            if scalable.kind == "component":
                inference_components.update_runtime_config(
                    ctx,
                    {
                        "InferenceComponentName": scalable.name,
                        "DesiredRuntimeConfig": {"CopyCount": new},
                    },
                )
            else:
                endpoints.update_weights(
                    ctx,
                    {
                        "EndpointName": scalable.name,
                        "DesiredWeightsAndCapacities": [
                            {"VariantName": scalable.variant, "DesiredInstanceCount": new}
                        ],
                    },
                )
        except AwsError as error:
            activity.update(StatusCode="Failed", StatusMessage=error.message, EndTime=at)
        else:
            self.in_progress.append((scalable, activity))
        backends = _backends(scalable.caller)
        if backends is None:
            return
        activities = getattr(backends[0], ACTIVITIES, None)
        if activities is None:
            activities = []
            setattr(backends[0], ACTIVITIES, activities)
        activities.append(activity)

    def _finish_activities(self, caller: Caller, region: Region, at: float) -> None:
        """An activity is Successful once SageMaker has finished the change it asked for."""
        still = []
        for scalable, activity in self.in_progress:
            if scalable.caller != caller:
                still.append((scalable, activity))
                continue
            table = (
                region.inference_components if scalable.kind == "component" else region.endpoints
            )
            if table.get(scalable.name) is not scalable.record:
                activity.update(
                    StatusCode="Failed",
                    EndTime=at,
                    StatusMessage=f"The resource {scalable.name} was deleted.",
                )
            elif scalable.busy:
                still.append((scalable, activity))
            else:
                activity.update(
                    StatusCode="Successful",
                    EndTime=at,
                    StatusMessage=f"Successfully set desired {scalable.noun} to "
                    f"{scalable.desired}. Change successfully fulfilled by sagemaker.",
                )
        self.in_progress = still


def _set_state(cloudwatch: Any, alarm: Any, state: str, at: float) -> None:
    """Move one of moto's alarms to `state` as of `at`, if it still exists and is elsewhere."""
    if alarm.state_value == state or alarm.name not in cloudwatch.alarms:
        return
    reason = f"Threshold Crossed: the emulator's simulated metric moved the alarm to {state}."
    cloudwatch.set_alarm_state(alarm.name, reason, json.dumps({}), state)
    alarm.state_updated_timestamp = _moto_time(at)


def _alarm_state(alarm: Any, values: list[float | None]) -> str | None:
    """ALARM, OK or INSUFFICIENT_DATA from the newest datapoints; None keeps the state."""
    compare = _COMPARE.get(alarm.comparison_operator)
    if compare is None:
        return None
    treat = alarm.treat_missing_data or "missing"
    needed = int(alarm.datapoints_to_alarm or alarm.evaluation_periods or 1)
    if all(v is None for v in values):
        return {"breaching": "ALARM", "notBreaching": "OK", "ignore": None}.get(
            treat, "INSUFFICIENT_DATA"
        )
    breaching = 0
    for value in values:
        if value is None:
            breaching += treat == "breaching"
        else:
            breaching += bool(compare(value, float(alarm.threshold)))
    return "ALARM" if breaching >= needed else "OK"


def _resolve(caller: Caller, region: Region, resource_id: str, dimension: str) -> Scalable | None:
    parts = resource_id.split("/")
    if dimension == COMPONENT_DIMENSION and len(parts) == 2 and parts[0] == "inference-component":
        record = region.inference_components.get(parts[1])
        if record is None or record["_spec"].get("BaseInferenceComponentName"):
            return None
        return Scalable(
            caller, "component", parts[1], None, record, Target.of_component(caller, parts[1])
        )
    if (
        dimension == VARIANT_DIMENSION
        and len(parts) == 4
        and (parts[0], parts[2]) == ("endpoint", "variant")
    ):
        record = region.endpoints.get(parts[1])
        if record is None or record["_ComponentBased"]:
            return None
        if not any(v["VariantName"] == parts[3] for v in record["ProductionVariants"]):
            return None
        return Scalable(
            caller,
            "variant",
            parts[1],
            parts[3],
            record,
            Target.of_variant(caller, parts[1], parts[3]),
        )
    return None


def _backends(caller: Caller) -> tuple[Any, Any] | None:
    """moto's Application Auto Scaling and CloudWatch backends for one account and region."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends
    from moto.cloudwatch.models import cloudwatch_backends

    try:
        return (
            applicationautoscaling_backends[caller.account][caller.region],
            cloudwatch_backends[caller.account][caller.region],
        )
    except KeyError:  # a region moto does not know
        return None


def _snapshot(table: Any) -> list[Any]:
    """The values of one of moto's dicts, which its server threads may change meanwhile."""
    for _ in range(5):
        try:
            return list(table.values())
        except RuntimeError:  # changed size during iteration
            continue
    return []


def _moto_time(at: float) -> datetime:
    """moto keeps CloudWatch times as naive UTC datetimes."""
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None)


def _key(caller: Caller, *parts: str) -> tuple[str, ...]:
    return (caller.account, caller.region, *parts)
