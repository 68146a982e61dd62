"""What the model's container is: its engine, its model, and whether it starts.

The engine is recognised from the image repository (the AWS and Hugging Face
containers' names) or, for other images, from the variables only that engine
reads (SM_VLLM_*, SM_SGLANG_*, OPTION_*). An image nothing identifies is treated
as TGI for answers and never fails at startup, as before engines were modelled.
What it answers is `inference`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import instance_type
from .engine_errors import Engine

MODEL_DIR = "/opt/ml/model"

# Repository name fragments of each engine's published images.
_REPOSITORIES: tuple[tuple[str, Engine], ...] = (
    ("djl-inference", "lmi"),
    ("huggingface-pytorch-tgi-inference", "tgi"),
    ("text-generation-inference", "tgi"),
    ("sglang", "sglang"),
    ("vllm", "vllm"),
    ("text-embeddings-inference", "tei"),
)
# AWS's TEI repositories are named exactly tei and tei-cpu.
_EXACT_REPOSITORIES: dict[str, Engine] = {"tei": "tei", "tei-cpu": "tei"}
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
        running = model.get("_containers")  # a model created from a model package
        container = (
            running[0]
            if running
            else model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        )
        return cls(
            image=str(container.get("Image") or ""),
            environment=dict(container.get("Environment") or {}),
            has_artifact=bool(container.get("ModelDataUrl") or container.get("ModelDataSource")),
        )

    @property
    def engine(self) -> Engine | None:
        repository = self.image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        if repository in _EXACT_REPOSITORIES:
            return _EXACT_REPOSITORIES[repository]
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
            "tei": (
                "error: the following required arguments were not provided:\n  --model-id "
                "<MODEL_ID>"
            ),
        }[engine]
    variable = _TP_VARIABLE.get(engine)  # TEI runs one copy per GPU: no tensor parallelism
    raw = env.get(variable) if variable else None
    # Neuron counts cores, not chips.
    if variable and raw is not None and "neuron" not in container.image:
        try:
            tp = int(raw)
        except ValueError:
            return f"error: invalid value '{raw}' for {variable}: expected an integer"
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


# --- hooks for the endpoint and inference component state machines ------------------


def config_failure(region: Any, config_name: str) -> str | None:
    """FailureReason for an endpoint (config) whose model container would not start."""
    config = region.endpoint_configs.get(config_name) or {}
    for variant in config.get("ProductionVariants", []):
        if not variant.get("ModelName"):
            continue
        kind = variant.get("InstanceType")  # none on serverless capacity: CPU only
        gpus = instance_type(str(kind)).accelerators if kind else 0
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
