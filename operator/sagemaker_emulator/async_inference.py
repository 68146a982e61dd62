"""sagemaker-runtime InvokeEndpointAsync: a queue per endpoint, answered on the emulator's clock.

AWS queues each request, and an instance takes it when it has room (ClientConfig's
MaxConcurrentInvocationsPerInstance at once); the container's answer is written to S3
at `<S3OutputPath>/<InferenceId>.out`, a failure to `<S3FailurePath>/<InferenceId>-error.out`,
and the NotificationConfig's SNS topics are told. The backlog is published to CloudWatch
(ApproximateBacklogSize, ApproximateBacklogSizePerInstance, HasBacklogWithoutCapacity),
which is what an async endpoint scales on, to zero instances and back.

Here the queue is worked by the autoscaler's ticks (autoscaling.py), so it needs moto
beside the emulator (`--with-moto`): requests are read from and answers written to moto's
S3, notifications published to moto's SNS and metrics put into moto's CloudWatch. A
request waits while the endpoint has no instance, whatever its age (no TTL is enforced).
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .caller import Caller
from .errors import AwsError
from .resources.common import Context
from .state import Record, Region, Store

INPUT_HEADER = "x-amzn-sagemaker-inputlocation"
INFERENCE_ID_HEADER = "x-amzn-sagemaker-inference-id"
CONTENT_TYPE_HEADER = "x-amzn-sagemaker-content-type"
EXTENSION_HEADER = "x-amzn-sagemaker-s3outputpathextension"
FILENAME_HEADER = "x-amzn-sagemaker-filename"
MAX_INLINE_BODY = 128_000  # botocore: InvokeEndpointAsync Body
# Without ClientConfig SageMaker picks the container's concurrency; the emulator takes one.
DEFAULT_CONCURRENCY = 1
# AWS seconds one request takes on an instance (scaled like every AWS duration).
PROCESSING_AWS_SECONDS = 20.0
METRIC_AWS_SECONDS = 60.0  # CloudWatch gets the backlog metrics once per AWS minute
MIN_METRIC_SECONDS = 1.0  # ... and no more often than this, whatever the delay
BACKLOG_METRIC = "ApproximateBacklogSize"
BACKLOG_PER_INSTANCE_METRIC = "ApproximateBacklogSizePerInstance"
WITHOUT_CAPACITY_METRIC = "HasBacklogWithoutCapacity"
# The container's answer to one request body: runtime.invoke's, which the server (a layer
# above) hands in; raises AwsError (ModelError) when the container refuses.
Answerer = Callable[[Context, str, bytes], bytes]
_S3 = re.compile(r"^s3://([^/]+)/?(.*)$")
_INFERENCE_ID = re.compile(r"^\S[\x20-\x7e]*$")
# botocore's S3OutputPathExtension and Filename patterns
_EXTENSION = re.compile(r"^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$")
_FILENAME = re.compile(r"^(?!.*\..*\.)[a-zA-Z0-9][a-zA-Z0-9-_\.]*$")


@dataclass
class Request:
    inference_id: str
    input_location: str | None
    inline: bytes | None
    content_type: str
    output_location: str
    failure_location: str | None
    received: float
    started: float | None = None


@dataclass
class Queue:
    """One endpoint's requests: waiting in order, and those an instance works on."""

    waiting: deque[Request] = field(default_factory=deque)
    running: list[Request] = field(default_factory=list)
    without_capacity_since: float | None = None
    published: float = float("-inf")

    @property
    def backlog(self) -> int:
        return len(self.waiting) + len(self.running)


def _error(message: str) -> AwsError:
    return AwsError("ValidationError", message)


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of s3://bucket/key."""
    found = _S3.match(uri)
    if found is None:
        raise _error(f"{uri} is not an S3 URI.")
    return found.group(1), found.group(2)


def _join(path: str, name: str) -> str:
    return path.rstrip("/") + "/" + name


class AsyncQueues:
    """Every async endpoint's queue, worked at each of the autoscaler's ticks."""

    def __init__(self, store: Store, seconds: Callable[[float], float]) -> None:
        self.store = store
        self.seconds = seconds  # emulator seconds for AWS seconds
        self.queues: dict[tuple[str, str, str], Queue] = {}
        self.answerer: Answerer | None = None

    def clear(self) -> None:
        self.queues.clear()

    def backlog(self, caller: Caller, endpoint: str) -> int:
        queue = self.queues.get((caller.account, caller.region, endpoint))
        return queue.backlog if queue is not None else 0

    def without_capacity_since(self, caller: Caller, endpoint: str) -> float | None:
        queue = self.queues.get((caller.account, caller.region, endpoint))
        return queue.without_capacity_since if queue is not None else None

    # -- InvokeEndpointAsync ------------------------------------------------------

    def enqueue(
        self, ctx: Context, endpoint_name: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str, str | None]:
        """Validates and queues one request: (InferenceId, OutputLocation, FailureLocation)."""
        endpoint = ctx.region.endpoints.get(endpoint_name)
        account = ctx.caller.account
        if endpoint is None:
            raise _error(f"Endpoint {endpoint_name} of account {account} not found.")
        if endpoint["EndpointStatus"] not in ("InService", "Updating"):
            raise _error(
                f"Endpoint {endpoint_name} of account {account} is in "
                f"{endpoint['EndpointStatus']} status and cannot serve requests."
            )
        config = ctx.region.endpoint_configs.get(endpoint["EndpointConfigName"]) or {}
        async_config = config.get("AsyncInferenceConfig")
        if not async_config:
            raise _error(
                f"Endpoint {endpoint_name} of account {account} is not configured for "
                "asynchronous inference; call InvokeEndpoint instead."
            )
        location = headers.get(INPUT_HEADER)
        if location and body:
            raise _error("Body and InputLocation are mutually exclusive; specify one of them.")
        if not location and not body:
            raise _error("Either InputLocation or Body must be specified.")
        if len(body) > MAX_INLINE_BODY:
            raise _error(f"Body exceeds the maximum of {MAX_INLINE_BODY} bytes.")
        if location:
            split_s3(location)
        inference_id = headers.get(INFERENCE_ID_HEADER) or str(uuid.uuid4())
        if len(inference_id) > 64 or not _INFERENCE_ID.match(inference_id):
            raise _error("InferenceId must be 1 to 64 printable characters.")
        output = async_config.get("OutputConfig") or {}
        path = str(output.get("S3OutputPath", ""))
        extension = headers.get(EXTENSION_HEADER)
        if extension is not None:
            if not _EXTENSION.match(extension):
                raise _error("S3OutputPathExtension must not be an S3 or HTTPS URI.")
            path = _join(path, extension.strip("/"))
        filename = headers.get(FILENAME_HEADER)
        if filename is not None and not _FILENAME.match(filename):
            raise _error("Filename must start with a letter or digit and have one extension.")
        output_location = _join(path, filename or f"{inference_id}.out")
        failure_path = output.get("S3FailurePath")
        failure_location = (
            _join(str(failure_path), f"{inference_id}-error.out") if failure_path else None
        )
        key = (account, ctx.caller.region, endpoint_name)
        self.queues.setdefault(key, Queue()).waiting.append(
            Request(
                inference_id=inference_id,
                input_location=location or None,
                inline=None if location else body,
                content_type=headers.get(CONTENT_TYPE_HEADER) or "application/json",
                output_location=output_location,
                failure_location=failure_location,
                received=ctx.now,
            )
        )
        return inference_id, output_location, failure_location

    # -- the tick -----------------------------------------------------------------

    def run(self, caller: Caller, region: Region, cloudwatch: Any, at: float) -> None:
        """Finish what is done, start what fits, publish the backlog metrics."""
        for key, queue in list(self.queues.items()):
            if key[:2] != (caller.account, caller.region):
                continue
            endpoint = region.endpoints.get(key[2])
            if endpoint is None or endpoint["EndpointStatus"] in ("Deleting", "Failed"):
                del self.queues[key]  # the endpoint is gone: so is its queue
                continue
            config = region.endpoint_configs.get(endpoint["EndpointConfigName"]) or {}
            instances = sum(
                int(v.get("CurrentInstanceCount") or 0) for v in endpoint["ProductionVariants"]
            )
            took = self.seconds(PROCESSING_AWS_SECONDS)
            for request in [r for r in queue.running if (r.started or 0) + took <= at]:
                queue.running.remove(request)
                self._answer(Context(self.store, caller, at), key[2], config, request)
            per = int(
                ((config.get("AsyncInferenceConfig") or {}).get("ClientConfig") or {}).get(
                    "MaxConcurrentInvocationsPerInstance"
                )
                or DEFAULT_CONCURRENCY
            )
            while queue.waiting and len(queue.running) < instances * per:
                request = queue.waiting.popleft()
                request.started = at
                queue.running.append(request)
            if queue.backlog and instances == 0:
                if queue.without_capacity_since is None:
                    queue.without_capacity_since = at
            else:
                queue.without_capacity_since = None
            if at - queue.published >= max(self.seconds(METRIC_AWS_SECONDS), MIN_METRIC_SECONDS):
                queue.published = at
                _publish(cloudwatch, key[2], queue, instances, at)

    def _answer(self, ctx: Context, endpoint: str, config: Record, request: Request) -> None:
        """The container's answer into S3 (or the error into the failure path), then SNS."""
        output = (config.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}
        topics = output.get("NotificationConfig") or {}
        try:
            body = request.inline if request.inline is not None else _read(ctx, request)
            if self.answerer is None:
                raise AwsError("InternalFailure", "No container answers here.", 500)
            answer = self.answerer(ctx, endpoint, body)
            _write(ctx.caller, request.output_location, answer)
        except AwsError as failed:
            message = failed.message
            if request.failure_location is not None:
                # The failure path cannot be written either: SNS still says so.
                with contextlib.suppress(AwsError):
                    _write(ctx.caller, request.failure_location, message.encode())
            _notify(ctx, endpoint, topics.get("ErrorTopic"), request, failed=message)
            return
        _notify(ctx, endpoint, topics.get("SuccessTopic"), request, failed=None)


def _s3(caller: Caller) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[caller.account]["aws"]


def _read(ctx: Context, request: Request) -> bytes:
    assert request.input_location is not None
    bucket, key = split_s3(request.input_location)
    try:
        found = _s3(ctx.caller).get_object(bucket, key)
    except Exception:  # moto: no such bucket
        found = None
    if found is None:
        raise AwsError(
            "ValidationError",
            f"Failed to download the input from {request.input_location}: the object does "
            "not exist or the endpoint's execution role cannot read it.",
        )
    return bytes(found.value)


def _write(caller: Caller, location: str, body: bytes) -> None:
    bucket, key = split_s3(location)
    try:
        _s3(caller).put_object(bucket, key, body)
    except Exception:  # moto: no such bucket
        raise AwsError(
            "ValidationError",
            f"Failed to upload to {location}: the bucket does not exist or the endpoint's "
            "execution role cannot write to it.",
        ) from None


def _notify(
    ctx: Context, endpoint: str, topic: str | None, request: Request, failed: str | None
) -> None:
    """The SNS message AWS publishes for an async result (its documented shape)."""
    if not topic:
        return
    from moto.sns.models import sns_backends

    when = datetime.fromtimestamp(ctx.now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    received = (
        datetime.fromtimestamp(request.received, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )
    message: dict[str, Any] = {
        "awsRegion": ctx.caller.region,
        "eventTime": when,
        "receivedTime": received,
        "invocationStatus": "Failed" if failed else "Completed",
        "requestParameters": {
            "contentType": request.content_type,
            "endpointName": endpoint,
            "inputLocation": request.input_location,
        },
        "responseParameters": (
            {
                "contentType": "text/plain; charset=utf-8",
                "failureLocation": request.failure_location,
            }
            if failed
            else {"contentType": "application/json", "outputLocation": request.output_location}
        ),
        "inferenceId": request.inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if failed:
        message["failureReason"] = failed
    try:
        sns_backends[ctx.caller.account][ctx.caller.region].publish(json.dumps(message), topic)
    except Exception:  # moto: no such topic; AWS drops the notification too
        return


def _publish(cloudwatch: Any, endpoint: str, queue: Queue, instances: int, at: float) -> None:
    when = datetime.fromtimestamp(at, UTC).replace(tzinfo=None)
    dims = [{"Name": "EndpointName", "Value": endpoint}]
    data = [
        (BACKLOG_METRIC, float(queue.backlog)),
        (WITHOUT_CAPACITY_METRIC, 1.0 if queue.backlog and instances == 0 else 0.0),
    ]
    if instances:
        data.append((BACKLOG_PER_INSTANCE_METRIC, queue.backlog / instances))
    cloudwatch.put_metric_data(
        "AWS/SageMaker",
        [
            {"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": when}
            for name, value in data
        ],
    )
