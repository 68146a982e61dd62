"""A CloudWatch alarm of the user's own, as spec.rollout.autoRollback.alarms names one."""

from __future__ import annotations

import uuid
from typing import Any


def latency_alarm(cloudwatch: Any) -> str:
    """Puts a p99-latency alarm (a fresh name, OK until someone sets it) and names it."""
    name = f"p99-latency-{uuid.uuid4().hex[:6]}"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=2_000_000.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    return name
