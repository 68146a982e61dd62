"""What the model's container does: start (or fail to), and answer in its engine's shape.

The engine is recognised from the image repository (the AWS and Hugging Face
containers' names) or, for other images, from the variables only that engine
reads (SM_VLLM_*, SM_SGLANG_*, OPTION_*). An image nothing identifies is treated
as TGI for answers and never fails at startup, as before engines were modelled.

The text comes from a tiny deterministic generator (a hash of model and prompt
picks words), so tests can assert on it and nothing downloads a model.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from .catalog import instance_type
from .errors import AwsError

Engine = Literal["vllm", "sglang", "lmi", "tgi"]

MODEL_DIR = "/opt/ml/model"
_WORDS = tuple(
    " ".join(
        (
            "the model answers with tokens drawn from a small fixed vocabulary so that every",
            "run of the emulator gives the same text for the same prompt and model while still",
            "looking like language to a person reading a test log",
        )
    ).split()
)

# Repository name fragments of each engine's published images.
_REPOSITORIES: tuple[tuple[str, Engine], ...] = (
    ("djl-inference", "lmi"),
    ("huggingface-pytorch-tgi-inference", "tgi"),
    ("text-generation-inference", "tgi"),
    ("sglang", "sglang"),
    ("vllm", "vllm"),
)
_ENV_PREFIXES: tuple[tuple[str, Engine], ...] = (
    ("SM_VLLM_", "vllm"),
    ("SM_SGLANG_", "sglang"),
    ("OPTION_", "lmi"),
)
# The variable each engine reads the tensor parallel degree from.
_TP_VARIABLE: dict[Engine, str] = {
    "vllm": "SM_VLLM_TENSOR_PARALLEL_SIZE",
    "sglang": "SM_SGLANG_TP_SIZE",
    "lmi": "OPTION_TENSOR_PARALLEL_DEGREE",
    "tgi": "SM_NUM_GPUS",
}


@dataclass(frozen=True)
class Container:
    """A model's primary container as the emulator sees it."""

    image: str
    environment: dict[str, str]
    has_artifact: bool

    @classmethod
    def of(cls, model: dict[str, Any] | None) -> Container:
        model = model or {}
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        return cls(
            image=str(container.get("Image") or ""),
            environment=dict(container.get("Environment") or {}),
            has_artifact=bool(container.get("ModelDataUrl") or container.get("ModelDataSource")),
        )

    @property
    def engine(self) -> Engine | None:
        repository = self.image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        for fragment, engine in _REPOSITORIES:
            if fragment in repository:
                return engine
        for prefix, engine in _ENV_PREFIXES:
            if any(k.startswith(prefix) for k in self.environment):
                return engine
        return None

    @property
    def model_id(self) -> str | None:
        env = self.environment
        keys = {
            "vllm": ("SM_VLLM_MODEL", "HF_MODEL_ID"),
            "sglang": ("SM_SGLANG_MODEL_PATH", "HF_MODEL_ID"),
            "lmi": ("HF_MODEL_ID", "OPTION_MODEL_ID"),
        }.get(self.engine or "tgi", ("HF_MODEL_ID",))
        for key in keys:
            if env.get(key):
                return env[key]
        return MODEL_DIR if self.has_artifact else None


def startup_failure(container: Container, gpus: int) -> str | None:
    """Why the container would exit before answering /ping, in its own words; None: it starts.

    `gpus` is what one copy gets: the component's accelerators, or the instance's.
    """
    engine = container.engine
    if engine is None:
        return None
    env = container.environment
    if container.model_id is None:
        return {
            "vllm": (
                "ValueError: no model to serve: set SM_VLLM_MODEL or HF_MODEL_ID, or provide "
                f"model artifacts in {MODEL_DIR}"
            ),
            "sglang": (
                "launch_server.py: error: the following arguments are required: --model-path"
            ),
            "lmi": (
                "ValueError: no model found: set HF_MODEL_ID or option.model_id, or provide "
                f"model artifacts in {MODEL_DIR}"
            ),
            "tgi": "HF_MODEL_ID must be set",
        }[engine]
    raw = env.get(_TP_VARIABLE[engine])
    if raw is not None and "neuron" not in container.image:  # Neuron counts cores, not chips
        try:
            tp = int(raw)
        except ValueError:
            return f"error: invalid value '{raw}' for {_TP_VARIABLE[engine]}: expected an integer"
        if tp > gpus:
            return {
                "vllm": (
                    f"ValueError: Tensor parallel size ({tp}) cannot be larger than the number "
                    f"of available GPUs ({gpus})."
                ),
                "sglang": (
                    f"RuntimeError: tp_size ({tp}) is larger than the number of available "
                    f"GPUs ({gpus})"
                ),
                "lmi": (
                    f"ValueError: tensor_parallel_degree {tp} exceeds the {gpus} GPUs "
                    "available to this worker"
                ),
                "tgi": (
                    f"Error: `num_shard` ({tp}) is greater than the number of available GPUs "
                    f"({gpus})"
                ),
            }[engine]
    if engine == "tgi" and env.get("MAX_INPUT_TOKENS") and env.get("MAX_INPUT_LENGTH"):
        return 'Error: ArgumentValidation("`max_input_tokens` and `max_input_length` are set")'
    return None


def health_check_failure(owner: str, reason: str) -> str:
    """FailureReason as SageMaker reports a container that never passed /ping."""
    return (
        f"The primary container for {owner} did not pass the ping health check. Please check "
        f"CloudWatch logs for this endpoint. Container log: {reason}"
    )


# --- answers ---------------------------------------------------------------------


def generate(model_id: str, prompt: str, max_new_tokens: int) -> list[str]:
    words = []
    seed = hashlib.sha256(f"{model_id}\0{prompt}".encode()).digest()
    for index in range(max_new_tokens):
        if index % 32 == 0 and index:
            seed = hashlib.sha256(seed).digest()
        words.append(_WORDS[seed[index % 32] % len(_WORDS)])
    return [" " + w for w in words]


def _model_error(status: int, detail: dict[str, Any]) -> AwsError:
    return AwsError(
        "ModelError",
        f'Received client error ({status}) from primary with message "{json.dumps(detail)}". '
        "See the logs for more information.",
        424,
    )


def _bad_request(engine: Engine, why: str) -> AwsError:
    if engine in ("vllm", "sglang"):
        detail: dict[str, Any] = {
            "object": "error",
            "message": why,
            "type": "BadRequestError",
            "code": 400,
        }
        return _model_error(400, detail)
    if engine == "lmi":
        return _model_error(400, {"error": why, "code": 400})
    return _model_error(422, {"error": why, "error_type": "validation"})


@dataclass(frozen=True)
class _Request:
    kind: Literal["chat", "completion", "generate"]
    prompt: str
    max_tokens: int
    stream: bool
    full_text: bool = False


def _parse(engine: Engine, body: bytes) -> _Request:
    try:
        request: Any = json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise ValueError
        if "messages" in request:
            messages = request["messages"]
            prompt = "\n".join(str(m["content"]) for m in messages)
            limit: Any = request.get("max_completion_tokens") or request.get("max_tokens", 20)
            parsed = _Request("chat", prompt, int(limit), bool(request.get("stream")))
        elif "prompt" in request and engine in ("vllm", "sglang"):
            prompt = request["prompt"]
            limit = int(request.get("max_tokens", 16))
            parsed = _Request("completion", prompt, limit, bool(request.get("stream")))
        elif "inputs" in request and engine in ("tgi", "lmi"):
            parameters = request.get("parameters") or {}
            parsed = _Request(
                "generate",
                request["inputs"],
                int(parameters.get("max_new_tokens", 20)),
                bool(request.get("stream")),
                bool(parameters.get("return_full_text")),
            )
        else:
            raise KeyError
        if not isinstance(parsed.prompt, str) or not 0 <= parsed.max_tokens <= 4096:
            raise ValueError
        return parsed
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    if engine in ("vllm", "sglang"):
        raise _bad_request(
            engine,
            "invalid request: send an OpenAI chat completion ('messages') or completion "
            "('prompt') body",
        )
    if engine == "lmi":
        raise _bad_request(engine, "Input is not a valid chat completion or 'inputs' request")
    raise _bad_request(engine, "Failed to deserialize the JSON body into the target type")


def _ident(model_id: str, prompt: str) -> str:
    return hashlib.sha256(f"{model_id}\0{prompt}\0id".encode()).hexdigest()[:24]


def answer(
    engine: Engine | None, model_id: str, body: bytes, *, now: float, served: str | None = None
) -> list[bytes]:
    """The container's response: one body, or the chunks of a streamed response.

    `served` is the name OpenAI-shaped answers give as the model (an adapter's own name).
    """
    engine = engine or "tgi"
    request = _parse(engine, body)
    tokens = generate(model_id, request.prompt, request.max_tokens)
    text = "".join(tokens)
    created = int(now)
    ident = _ident(model_id, request.prompt)
    usage = {
        "prompt_tokens": len(request.prompt.split()),
        "completion_tokens": len(tokens),
        "total_tokens": len(request.prompt.split()) + len(tokens),
    }
    name = served or model_id
    if request.kind == "chat":
        return _chat(name, ident, created, tokens, text, usage, request.stream, engine)
    if request.kind == "completion":
        return _completion(name, ident, created, tokens, text, usage, request.stream)
    if request.full_text:
        text = request.prompt + text
    if engine == "lmi":
        return _lmi_generate(tokens, text, request.stream)
    return _tgi_generate(tokens, text, request.stream)


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _chat(
    model_id: str,
    ident: str,
    created: int,
    tokens: list[str],
    text: str,
    usage: dict[str, int],
    stream: bool,
    engine: Engine,
) -> list[bytes]:
    base = {"id": f"chatcmpl-{ident}", "created": created, "model": model_id}
    if not stream:
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "length"}
        body = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        return [json.dumps(body).encode()]
    chunks = [{"role": "assistant", "content": ""}] + [{"content": t} for t in tokens]
    out = []
    for index, delta in enumerate(chunks):
        last = index == len(chunks) - 1
        choice = {"index": 0, "delta": delta, "finish_reason": "length" if last else None}
        out.append({**base, "object": "chat.completion.chunk", "choices": [choice]})
    if engine == "lmi":  # LMI streams chat chunks as JSON lines
        return [json.dumps(chunk).encode() + b"\n" for chunk in out]
    return [_sse(chunk) for chunk in out] + [b"data: [DONE]\n\n"]


def _completion(
    model_id: str,
    ident: str,
    created: int,
    tokens: list[str],
    text: str,
    usage: dict[str, int],
    stream: bool,
) -> list[bytes]:
    base = {"id": f"cmpl-{ident}", "object": "text_completion", "created": created}
    base["model"] = model_id
    if not stream:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "length"}
        return [json.dumps({**base, "choices": [choice], "usage": usage}).encode()]
    out = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        choice = {"index": 0, "text": token, "logprobs": None}
        choice["finish_reason"] = "length" if last else None
        out.append(_sse({**base, "choices": [choice]}))
    return [*out, b"data: [DONE]\n\n"]


def _tgi_generate(tokens: list[str], text: str, stream: bool) -> list[bytes]:
    if not stream:
        return [json.dumps([{"generated_text": text}]).encode()]
    out = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        event = {
            "index": index + 1,
            "token": {"id": 1000 + index, "text": token, "logprob": -0.5, "special": False},
            "generated_text": text if last else None,
            "details": None,
        }
        out.append(b"data:" + json.dumps(event).encode() + b"\n\n")
    return out


def _lmi_generate(tokens: list[str], text: str, stream: bool) -> list[bytes]:
    if not stream:
        return [json.dumps({"generated_text": text}).encode()]
    out = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        line = {
            "token": {"id": 1000 + index, "text": token, "log_prob": -0.5},
            "generated_text": text if last else None,
            "details": None,
        }
        out.append(json.dumps(line).encode() + b"\n")
    return out


# --- InvokeEndpointWithResponseStream framing -------------------------------------


def _header(name: str, value: str) -> bytes:
    key, raw = name.encode(), value.encode()
    return bytes([len(key)]) + key + b"\x07" + len(raw).to_bytes(2, "big") + raw


def event_message(payload: bytes, event_type: str = "PayloadPart") -> bytes:
    """One message of the AWS event stream encoding, as botocore's parser reads it."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/octet-stream")
        + _header(":message-type", "event")
    )
    total = 12 + len(headers) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + headers + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


# --- hooks for the endpoint and inference component state machines ------------------


def config_failure(region: Any, config_name: str) -> str | None:
    """FailureReason for an endpoint (config) whose model container would not start."""
    config = region.endpoint_configs.get(config_name) or {}
    for variant in config.get("ProductionVariants", []):
        if not variant.get("ModelName"):
            continue
        gpus = instance_type(str(variant.get("InstanceType"))).accelerators
        container = Container.of(region.models.get(variant["ModelName"]))
        reason = startup_failure(container, gpus)
        if reason is not None:
            return health_check_failure(f"production variant {variant['VariantName']}", reason)
    return None


def serving_container(region: Any, specification: dict[str, Any]) -> Container:
    """A component's container: its model's, with the component's own image and variables."""
    model = Container.of(region.models.get(specification.get("ModelName") or ""))
    own = specification.get("Container") or {}
    return Container(
        image=str(own.get("Image") or model.image),
        environment={**model.environment, **(own.get("Environment") or {})},
        has_artifact=model.has_artifact or bool(own.get("ArtifactUrl")),
    )


def component_failure(region: Any, name: str, specification: dict[str, Any]) -> str | None:
    """FailureReason for an inference component whose container would not start."""
    if specification.get("BaseInferenceComponentName"):
        return None  # adapters load into the running base container
    container = serving_container(region, specification)
    needs = specification.get("ComputeResourceRequirements") or {}
    gpus = int(needs.get("NumberOfAcceleratorDevicesRequired") or 0)
    reason = startup_failure(container, gpus)
    return None if reason is None else health_check_failure(f"inference component {name}", reason)
