"""`llm-operator invoke NAME --prompt TEXT`: ask an LLMEndpoint's model, as an app would.

Embedding models (engine tei) take `--input TEXT` (prints each vector's size and first
values) or `--rerank QUERY --texts A B ...` (prints the texts by score, best first).

The endpoint and inference component come from the LLMEndpoint's status (what
the operator created), the request body from the engine table
(`core.invocation`), and the call is sagemaker-runtime's InvokeEndpoint or
InvokeEndpointWithResponseStream with the person's own AWS credentials.

Asynchronous endpoints (endpointType Async) take `--async`: the request is uploaded to
`<async.outputS3Uri>/requests/<id>.json`, sent with InvokeEndpointAsync, and the answer
read from S3 once SageMaker wrote it (progress on stderr); `--no-wait` prints where it
will be instead.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import boto3
import botocore.exceptions
from botocore.config import Config

from llm_operator import __version__
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import engines, invocation, validation
from llm_operator.shell.commands.kube import Cluster, CommandError
from llm_operator.shell.commands.output import dump_json

# What a person waits for when a scaled-to-zero endpoint wakes on AWS: an instance
# starts when none runs, then the container downloads and loads the model.
WAKE_UP = "about 5 to 10 minutes on AWS (longer for large models)"


@dataclass(frozen=True)
class Target:
    region: str
    endpoint: str
    component: str | None  # None for a Model endpoint
    engine: invocation.Engine  # the request and answer shapes
    engine_name: str  # what the LLMEndpoint runs: tgi, vllm, ...
    async_output: str | None = None  # endpointType Async: async.outputS3Uri


@dataclass
class Answer:
    text: str
    seconds: float
    first_token_seconds: float | None = None


def _ready(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


def find_target(obj: Mapping[str, Any], adapter: str | None) -> Target:
    """Endpoint and component from status; an error a person can act on otherwise."""
    meta = obj["metadata"]
    who = f"LLMEndpoint {meta['namespace']}/{meta['name']}"
    spec, problems = validation.parse_spec(dict(obj.get("spec") or {}))
    if spec is None:
        raise CommandError(f"{who} has an invalid spec: {problems[0].message}")
    status = obj.get("status") or {}
    endpoint = status.get("endpointName")
    ready = _ready(obj)
    if ready.get("status") != "True" or not endpoint:
        phase = status.get("phase") or "Pending"
        reason = ready.get("reason") or phase
        message = ready.get("message") or "the operator has not reported on it yet"
        raise CommandError(
            f"{who} is not Ready (phase {phase}, {reason}): {message}. "
            f"Wait with: kubectl wait --for=condition=Ready llmendpoint/{meta['name']} "
            f"-n {meta['namespace']}"
        )
    name = engines.effective(spec.model, status)
    engine = invocation.engine(name)
    if spec.endpoint_type != "InferenceComponent":
        if adapter:
            raise CommandError(
                f"{who} is a {spec.endpoint_type} endpoint: LoRA adapters need InferenceComponent"
            )
        output = None
        if spec.async_inference is not None:
            output = str(
                (status.get("async") or {}).get("outputS3Uri") or spec.async_inference.output_s3_uri
            )
        return Target(spec.aws.region, str(endpoint), None, engine, name, output)
    components = status.get("inferenceComponents") or []
    if not components:
        raise CommandError(f"{who} reports no inference component in its status")
    base = components[0]
    copies = (base.get("copies") or {}).get("current")
    if copies == 0 and spec.effective_resources.copies == 0:
        raise CommandError(_scaled_to_zero(who, spec))
    # Scaled in to zero by autoscaling: the request itself wakes it (SageMaker's
    # NoCapacityInvocationFailures alarm), so it is sent and the refusal explained.
    if adapter is None:
        return Target(spec.aws.region, str(endpoint), str(base["name"]), engine, name)
    for entry in status.get("adapters") or []:
        if entry.get("name") == adapter:
            component = str(entry["componentName"])
            return Target(spec.aws.region, str(endpoint), component, engine, name)
    known = ", ".join(a.name for a in spec.adapters) or "none"
    raise CommandError(f"{who} has no adapter {adapter!r} (its adapters: {known})")


def _scaled_to_zero(who: str, spec: LLMEndpointSpec) -> str:
    return (
        f"{who} is scaled to zero: spec.resources.copies is 0, so no copy of the model runs "
        "and nothing answers. Set copies to 1 or more; the first copy takes "
        f"{WAKE_UP} (an instance starts first when minCount is 0 and none runs)."
    )


def _runtime(region: str) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        user_agent_extra=f"llm-operator-cli/{__version__}",
        read_timeout=300,
    )
    return boto3.session.Session().client("sagemaker-runtime", region_name=region, config=config)


def _problem(exc: Exception, target: Target) -> CommandError:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if "no capacity" in message.lower():
            return CommandError(
                f"{target.endpoint} has no running copy of {target.component} (scaled to "
                f"zero): {message} If an autoscaling policy scales it out on "
                "NoCapacityInvocationFailures, this request has woken it: it answers after "
                f"{WAKE_UP}; retry then."
            )
        return CommandError(f"{code}: {message}")
    return CommandError(f"calling SageMaker failed: {exc}")


def call(
    target: Target, prompt: str, max_tokens: int, *, stream: bool, out: TextIO | None
) -> Answer:
    """One invocation; with `stream`, tokens are written to `out` as they arrive."""
    client = _runtime(target.region)
    body = invocation.encode_request(target.engine, prompt, max_tokens, stream)
    args: dict[str, Any] = {
        "EndpointName": target.endpoint,
        "Body": body,
        "ContentType": "application/json",
        "Accept": "application/json",
    }
    if target.component:
        args["InferenceComponentName"] = target.component
    started = time.monotonic()
    try:
        if not stream:
            response = client.invoke_endpoint(**args)
            raw = response["Body"].read()
            text = invocation.decode_answer(target.engine, raw)
            return Answer(text, time.monotonic() - started)
        response = client.invoke_endpoint_with_response_stream(**args)
        lines = invocation.EventLines(target.engine)
        pieces: list[str] = []
        first: float | None = None
        for event in response["Body"]:
            if "PayloadPart" not in event:
                failure = event.get("ModelStreamError") or event.get("InternalStreamFailure")
                raise CommandError(f"the stream failed: {(failure or {}).get('Message', event)}")
            for token in lines.feed(event["PayloadPart"]["Bytes"]):
                if first is None:
                    first = time.monotonic() - started
                pieces.append(token)
                if out is not None:
                    out.write(token)
                    out.flush()
        for token in lines.flush():
            pieces.append(token)
            if out is not None:
                out.write(token)
        return Answer("".join(pieces), time.monotonic() - started, first)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _problem(exc, target) from None
    except invocation.AnswerError as exc:
        raise CommandError(
            f"the model's answer is not {target.engine.name}-shaped: {exc}"
        ) from None


def _invoke_raw(target: Target, body: bytes) -> tuple[bytes, float]:
    """One InvokeEndpoint with `body`: the answer's bytes and the seconds it took."""
    client = _runtime(target.region)
    args: dict[str, Any] = {
        "EndpointName": target.endpoint,
        "Body": body,
        "ContentType": "application/json",
        "Accept": "application/json",
    }
    if target.component:
        args["InferenceComponentName"] = target.component
    started = time.monotonic()
    try:
        response = client.invoke_endpoint(**args)
        return response["Body"].read(), time.monotonic() - started
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _problem(exc, target) from None


def _check_shape(target: Target, who: str, *, embedding: bool, stream: bool) -> None:
    """The flags must fit what the model is: text generation or embeddings."""
    serves_embeddings = target.engine_name in invocation.EMBEDDING
    if serves_embeddings and not embedding:
        raise CommandError(
            f"{who} runs engine {target.engine_name}, an embedding model: send "
            "--input TEXT (embeddings) or --rerank QUERY --texts A B ... (reranking) "
            "instead of --prompt"
        )
    if embedding and not serves_embeddings:
        raise CommandError(
            f"{who} runs engine {target.engine_name}, which generates text: send --prompt "
            "TEXT (--input and --rerank are for embedding models, engine tei)"
        )
    if embedding and stream:
        raise CommandError("--stream applies to --prompt only: embeddings arrive in one answer")


def _embeddings(target: Target, inputs: list[str], as_json: bool) -> int:
    raw, seconds = _invoke_raw(target, invocation.embed_request(inputs))
    try:
        vectors = invocation.decode_embeddings(raw)
    except invocation.AnswerError as exc:
        raise CommandError(f"the model's answer is not TEI-shaped: {exc}") from None
    if as_json:
        dump_json(
            {
                "endpointName": target.endpoint,
                "inferenceComponentName": target.component,
                "engine": target.engine_name,
                "embeddings": vectors,
                "latencySeconds": round(seconds, 3),
            }
        )
        return 0
    for vector in vectors:
        print(invocation.describe_vector(vector))
    where = target.endpoint + (f" / {target.component}" if target.component else "")
    print(f"({where}: {seconds:.3f} s)", file=sys.stderr)
    return 0


def _rerank(target: Target, query: str, texts: list[str], as_json: bool) -> int:
    raw, seconds = _invoke_raw(target, invocation.rerank_request(query, texts))
    try:
        scores = invocation.decode_scores(raw)
    except invocation.AnswerError as exc:
        raise CommandError(f"the model's answer is not TEI-shaped: {exc}") from None
    if any(not 0 <= index < len(texts) for index, _ in scores):
        raise CommandError("the model's answer names a text that was not sent")
    if as_json:
        dump_json(
            {
                "endpointName": target.endpoint,
                "inferenceComponentName": target.component,
                "engine": target.engine_name,
                "scores": [
                    {"index": index, "score": score, "text": texts[index]}
                    for index, score in scores
                ],
                "latencySeconds": round(seconds, 3),
            }
        )
        return 0
    for index, score in scores:
        print(f"{score:.4f}  [{index}] {texts[index]}")
    where = target.endpoint + (f" / {target.component}" if target.component else "")
    print(f"({where}: {seconds:.3f} s)", file=sys.stderr)
    return 0


def check_flags(
    prompt: str | None, inputs: list[str] | None, rerank: str | None, texts: list[str] | None
) -> None:
    """One request kind per call, before anything is looked up."""
    given = [
        flag for flag, v in (("--prompt", prompt), ("--input", inputs), ("--rerank", rerank)) if v
    ]
    if len(given) != 1:
        raise CommandError(
            "send exactly one of --prompt TEXT, --input TEXT and --rerank QUERY --texts A B ..."
            + (f" (got {' and '.join(given)})" if given else "")
        )
    if (rerank is not None) != bool(texts):
        raise CommandError(
            "--rerank QUERY needs --texts A B ... (the texts to score), and --texts needs --rerank"
        )


def run(
    cluster: Cluster,
    name: str,
    *,
    prompt: str | None,
    adapter: str | None,
    stream: bool,
    max_tokens: int,
    output: str,
    inputs: list[str] | None = None,
    rerank: str | None = None,
    texts: list[str] | None = None,
    asynchronous: bool = False,
    wait: bool = True,
    timeout: float = 1800.0,
) -> int:
    check_flags(prompt, inputs, rerank, texts)
    obj = cluster.llmendpoint(cluster.namespace, name)
    if obj is None:
        raise CommandError(f"LLMEndpoint {cluster.namespace}/{name} not found")
    target = find_target(obj, adapter)
    as_json = output == "json"
    who = f"LLMEndpoint {cluster.namespace}/{name}"
    _check_shape(target, who, embedding=prompt is None, stream=stream)
    check_async(target, who, asynchronous=asynchronous, stream=stream)
    if asynchronous:
        if prompt is None:
            raise CommandError("--async sends --prompt TEXT")
        return run_async(target, prompt, max_tokens, wait=wait, timeout=timeout, as_json=as_json)
    if inputs:
        return _embeddings(target, inputs, as_json)
    if rerank is not None and texts:
        return _rerank(target, rerank, texts, as_json)
    assert prompt is not None
    answer = call(target, prompt, max_tokens, stream=stream, out=None if as_json else sys.stdout)
    if as_json:
        dump_json(
            {
                "endpointName": target.endpoint,
                "inferenceComponentName": target.component,
                "engine": target.engine_name,
                "text": answer.text,
                "latencySeconds": round(answer.seconds, 3),
                "firstTokenSeconds": (
                    round(answer.first_token_seconds, 3)
                    if answer.first_token_seconds is not None
                    else None
                ),
            }
        )
        return 0
    if not stream:
        sys.stdout.write(answer.text)
    sys.stdout.write("\n")
    sys.stdout.flush()
    where = target.endpoint + (f" / {target.component}" if target.component else "")
    first = (
        f", first token after {answer.first_token_seconds:.3f} s"
        if answer.first_token_seconds is not None
        else ""
    )
    print(f"({where}: {answer.seconds:.3f} s{first})", file=sys.stderr)
    return 0


# --- asynchronous endpoints (invoke --async) --------------------------------------------
ASYNC_POLL_SECONDS = 1.0
ASYNC_PROGRESS_SECONDS = 10.0  # a progress line on stderr this often while waiting


def _s3(region: str) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        user_agent_extra=f"llm-operator-cli/{__version__}",
    )
    return boto3.session.Session().client("s3", region_name=region, config=config)


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _s3_read(s3: Any, uri: str) -> bytes | None:
    """The object at `uri`, or None while it does not exist."""
    bucket, key = _split_s3(uri)
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return body


def check_async(target: Target, who: str, *, asynchronous: bool, stream: bool) -> None:
    """--async for Async endpoints, and only for them."""
    if target.async_output is None and asynchronous:
        raise CommandError(
            f"{who} is not an asynchronous endpoint (endpointType Async): drop --async"
        )
    if target.async_output is not None and not asynchronous:
        raise CommandError(
            f"{who} is an asynchronous endpoint (endpointType Async): its requests go through "
            "S3; send them with --async"
        )
    if asynchronous and stream:
        raise CommandError("--stream cannot be used with --async: the answer arrives in S3 whole")


def call_async(
    target: Target, prompt: str, max_tokens: int, *, wait: bool, timeout: float
) -> dict[str, Any]:
    """Upload, InvokeEndpointAsync, and (with `wait`) the answer once it is in S3."""
    assert target.async_output is not None
    s3 = _s3(target.region)
    runtime = _runtime(target.region)
    inference_id = str(uuid.uuid4())
    request = f"{target.async_output.rstrip('/')}/requests/{inference_id}.json"
    body = invocation.encode_request(target.engine, prompt, max_tokens, False)
    started = time.monotonic()
    try:
        bucket, key = _split_s3(request)
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        sent = runtime.invoke_endpoint_async(
            EndpointName=target.endpoint,
            InputLocation=request,
            InferenceId=inference_id,
            ContentType="application/json",
            Accept="application/json",
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _problem(exc, target) from None
    out: dict[str, Any] = {
        "endpointName": target.endpoint,
        "engine": target.engine_name,
        "inferenceId": sent["InferenceId"],
        "inputLocation": request,
        "outputLocation": sent["OutputLocation"],
        "failureLocation": sent.get("FailureLocation"),
    }
    if not wait:
        return out
    said = started
    while True:
        try:
            answer = _s3_read(s3, out["outputLocation"])
            failure = _s3_read(s3, out["failureLocation"]) if out["failureLocation"] else None
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _problem(exc, target) from None
        waited = time.monotonic() - started
        if failure is not None:
            raise CommandError(
                f"the request failed ({out['failureLocation']}): "
                + failure.decode(errors="replace")
            )
        if answer is not None:
            try:
                out["text"] = invocation.decode_answer(target.engine, answer)
            except invocation.AnswerError as exc:
                raise CommandError(
                    f"the model's answer is not {target.engine.name}-shaped: {exc}"
                ) from None
            out["latencySeconds"] = round(waited, 3)
            return out
        if waited > timeout:
            raise CommandError(
                f"no answer after {timeout:.0f} s; it will be written to {out['outputLocation']} "
                f"(inference id {out['inferenceId']}). An endpoint at zero instances takes "
                f"{WAKE_UP} to start one."
            )
        if time.monotonic() - said >= ASYNC_PROGRESS_SECONDS:
            said = time.monotonic()
            print(
                f"waiting for {out['outputLocation']} ({waited:.0f} s; queued requests wait "
                "while the endpoint starts an instance)",
                file=sys.stderr,
            )
        time.sleep(ASYNC_POLL_SECONDS)


def run_async(
    target: Target,
    prompt: str,
    max_tokens: int,
    *,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> int:
    print(f"sending to {target.endpoint} through {target.async_output}", file=sys.stderr)
    out = call_async(target, prompt, max_tokens, wait=wait, timeout=timeout)
    if as_json:
        dump_json(out)
        return 0
    if not wait:
        print(out["inferenceId"])
        print(out["outputLocation"])
        return 0
    sys.stdout.write(str(out["text"]) + "\n")
    sys.stdout.flush()
    print(f"({target.endpoint}: answered in {out['latencySeconds']:.3f} s)", file=sys.stderr)
    return 0
