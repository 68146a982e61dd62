"""What the operator checks beyond the CRD: rules that need the catalog or tables.

The API server already enforces the schema and CEL rules; these checks catch
what they cannot express (copies that cannot fit the instance pool, a model
obviously too big for its GPUs) and anything that slipped past an older CRD.
Problems are data: the handlers turn errors into a Degraded condition and an
Event instead of calling SageMaker, and show warnings without blocking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from llm_operator.api import catalog
from llm_operator.api import engines as engine_table
from llm_operator.api.models import (
    BYTES_PER_PARAMETER,
    MAX_NAME_LENGTH,
    LLMEndpointSpec,
    ModelSpec,
    ResourcesSpec,
    serverless_fit_problem,
)
from llm_operator.core import desired, engines, images

Severity = Literal["error", "warning"]


# "7B", "70b", "8x7B", "0.5B", "270M" as a whole dash/underscore-separated token.
_SIZE_RE = re.compile(
    r"(?:^|[-_./])(?:(?P<experts>\d+)x)?(?P<size>\d+(?:\.\d+)?)(?P<unit>[bBmM])(?=$|[-_.])"
)


@dataclass(frozen=True)
class Problem:
    severity: Severity
    reason: str  # CamelCase, used as a condition reason
    message: str


def error(reason: str, message: str) -> Problem:
    return Problem("error", reason, message)


def warning(reason: str, message: str) -> Problem:
    return Problem("warning", reason, message)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]


def parse_spec(raw: Mapping[str, Any]) -> tuple[LLMEndpointSpec | None, list[Problem]]:
    """Parse a spec from the API server; schema errors become InvalidSpec problems.

    Messages name the field and the rule, never the offending value (env values
    could hold secrets a user pasted by mistake).
    """
    try:
        return LLMEndpointSpec.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in ("spec", *err["loc"]))
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(error("InvalidSpec", f"{loc}: {msg}"))
        return None, problems


def parameters_billions(model: ModelSpec) -> float | None:
    """Model size from spec.model.parametersBillions, else from the model id."""
    if model.parameters_billions is not None:
        return model.parameters_billions
    if model.hf_model_id is None:
        return None
    repo = model.hf_model_id.rsplit("/", 1)[-1]
    best: float | None = None
    for m in _SIZE_RE.finditer(repo):
        size = float(m["size"]) * (1e-3 if m["unit"] in "mM" else 1.0)
        if m["experts"]:
            size *= int(m["experts"])
        best = size if best is None else max(best, size)
    return best


def validate(
    spec: LLMEndpointSpec, *, name: str | None = None, engine_why: str | None = None
) -> list[Problem]:
    """Every problem found in `spec`; an empty list means go ahead.

    `engine_why`: how the engine was chosen when model.engine is unset
    (`engines.chosen_because`), so a refused setting says what to set.
    """
    problems: list[Problem] = []
    if name is not None and len(name) > MAX_NAME_LENGTH:
        problems.append(
            error(
                "NameTooLong",
                f"metadata.name has {len(name)} characters; at most {MAX_NAME_LENGTH} keep "
                "the SageMaker names within 63 characters",
            )
        )
    # A model package brings its own container: no engine, image or engine variables.
    package = spec.model.model_package is not None
    if not package:
        problems.extend(_engine_problems(spec, engine_why))
        problems.extend(_image_problems(spec))
    if spec.serverless is not None:
        return problems + _serverless_problems(spec)
    itype = catalog.instance_type(spec.instance_spec.type)
    if itype is None:
        problems.append(
            error(
                "UnknownInstanceType",
                f"instance type {spec.instance_spec.type} is not in the operator's catalog; known "
                f"{catalog.family_of(spec.instance_spec.type) or 'ml.*'} types: "
                + ", ".join(_known_like(spec.instance_spec.type)),
            )
        )
        return problems
    if spec.endpoint_type == "InferenceComponent":
        problems.extend(_capacity_problems(spec, itype))
        gpus_per_copy = spec.effective_resources.accelerators_per_copy
    else:
        gpus_per_copy = itype.accelerators
    problems.extend(_fit_problems(spec, itype, gpus_per_copy))
    overridden = (
        []
        if package
        else engines.overridden_keys(
            spec.model,
            num_gpus=gpus_per_copy,
            adapters=len(spec.adapters),
            prefix_caching=spec.effective_routing.uses_cache,
        )
    )
    if overridden:
        problems.append(
            warning(
                "EnvOverridden",
                "model.env sets " + ", ".join(overridden) + ", which the typed fields "
                "(model.*, resources.acceleratorsPerCopy) set; the typed values are used",
            )
        )
    return problems


def _known_like(instance_type: str) -> list[str]:
    family = catalog.family_of(instance_type)
    same = [t.name for t in catalog.instance_types() if t.family == family]
    return same or [f"ml.{f}.*" for f in catalog.families()]


def _engine_problems(spec: LLMEndpointSpec, why: str | None) -> list[Problem]:
    """What the CRD cannot check while model.engine is unset (the engine comes from status)."""
    engine = engines.engine_of(spec.model)
    problems = [
        error("EngineUnsupportedSetting", message)
        for message in engine_table.unsupported(engine, spec.model.settings(), why)
    ]
    archived = engine_table.ARCHIVED.get(engine)
    if archived is not None:
        problems.append(warning("EngineArchived", archived))
    routing = spec.effective_routing
    if routing.uses_cache and engine not in engine_table.PREFIX_CACHE_ENGINES:
        problems.append(
            error(
                "EngineUnsupportedSetting",
                engine_table.msg_no_prefix_cache(engine, routing.strategy, why),
            )
        )
    return problems


def _serverless_problems(spec: LLMEndpointSpec) -> list[Problem]:
    """The fit check on serverless memory, with the size read from the model id too (the
    CRD checks model.parametersBillions only)."""
    assert spec.serverless is not None
    params = parameters_billions(spec.model)
    if params is None:
        return []
    message = serverless_fit_problem(spec.serverless.memory_mib, params, spec.model.quantize)
    if message is None:
        return []
    return [error("ModelTooLarge", f"{spec.model.source}: {message}")]


def _image_problems(spec: LLMEndpointSpec) -> list[Problem]:
    if spec.model.image:
        return []
    problems = []
    engine = engines.engine_of(spec.model)
    itype = catalog.instance_type(spec.instance_spec.type) if spec.serverless is None else None
    try:
        desired.default_image(spec)
    except images.ImageLookupError as exc:
        kind = desired.image_kind(spec)
        family = images.family(engine, kind)
        if isinstance(family, images.Unavailable):
            reason = "ImageRequired"
        elif spec.aws.region not in family.registries:
            reason = "UnknownRegion"
        else:
            reason = "UnknownEngineVersion"
        problems.append(error(reason, str(exc)))
    if itype is not None and itype.accelerators == 0 and desired.image_kind(spec) == "gpu":
        problems.append(
            warning(
                "ImageMismatch",
                f"{itype.name} has no GPU and the default {engine} image is built for GPUs: "
                "set model.image to a CPU image, or pick a GPU instance type",
            )
        )
    return problems


def _capacity_problems(spec: LLMEndpointSpec, itype: catalog.InstanceType) -> list[Problem]:
    res = spec.effective_resources
    problems: list[Problem] = []
    memory_mib = itype.memory_gib * 1024
    if res.accelerators_per_copy > itype.accelerators:
        has = f"has {itype.accelerators}" if itype.accelerators else "has none"
        problems.append(
            error(
                "CopyTooLarge",
                f"one copy needs {res.accelerators_per_copy} accelerators but {itype.name} "
                f"{has}: lower resources.acceleratorsPerCopy or pick a larger instance type",
            )
        )
    if res.cpus_per_copy > itype.vcpus:
        problems.append(
            error(
                "CopyTooLarge",
                f"one copy needs {res.cpus_per_copy:g} vCPUs but {itype.name} has "
                f"{itype.vcpus}: lower resources.cpusPerCopy",
            )
        )
    if res.memory_mib_per_copy > memory_mib:
        problems.append(
            error(
                "CopyTooLarge",
                f"one copy needs {res.memory_mib_per_copy} MiB but {itype.name} has "
                f"{memory_mib} MiB: lower resources.memoryMiBPerCopy",
            )
        )
    if problems:
        return problems
    if itype.accelerators > 0 and res.accelerators_per_copy == 0:
        problems.append(
            warning(
                "NoAccelerators",
                f"resources.acceleratorsPerCopy is 0 on {itype.name}: copies get no GPU and "
                "the engine will run on CPU, if at all",
            )
        )
    per_instance = _copies_per_instance(res, itype)
    pool = spec.instance_spec.pool_size
    capacity = per_instance * pool
    where = "maxCount" if spec.instance_spec.max_count is not None else "count"
    scaling = spec.autoscaling
    most, field = (
        (scaling.max_replicas, "autoscaling.maxReplicas")
        if scaling is not None
        else (res.copies, "resources.copies")
    )
    if most > capacity:
        problems.append(
            error(
                "InsufficientCapacity",
                f"{most} copies do not fit: one {itype.name} holds {per_instance} "
                f"(by accelerators, vCPUs and memory per copy) and instance.{where} allows "
                f"{pool} instance{'s' if pool != 1 else ''}, so at most {capacity}; raise "
                f"instance.{where} or lower {field}",
            )
        )
    if scaling is not None and scaling.min_replicas == 0 and spec.instance_spec.min_count != 0:
        floor = (
            "unset" if spec.instance_spec.min_count is None else str(spec.instance_spec.min_count)
        )
        problems.append(
            warning(
                "InstancesKeepCosting",
                f"autoscaling.minReplicas is 0 but instance.minCount is {floor}: at zero "
                "copies the instances keep running and costing; set instance.minCount to 0 "
                "to scale them to zero too",
            )
        )
    return problems


def _copies_per_instance(res: ResourcesSpec, itype: catalog.InstanceType) -> int:
    """Copies one instance holds, as SageMaker places them: every requirement must fit."""
    limits = [
        math.floor(itype.vcpus / res.cpus_per_copy),
        (itype.memory_gib * 1024) // res.memory_mib_per_copy,
    ]
    if res.accelerators_per_copy > 0:
        limits.append(itype.accelerators // res.accelerators_per_copy)
    return int(min(limits))


def _fit_problems(
    spec: LLMEndpointSpec, itype: catalog.InstanceType, gpus_per_copy: int
) -> list[Problem]:
    params = parameters_billions(spec.model)
    if params is None or gpus_per_copy <= 0 or itype.accelerators == 0:
        return []
    gpus = min(gpus_per_copy, itype.accelerators)
    available = gpus * itype.accelerator_memory_gib
    per_param = BYTES_PER_PARAMETER.get(spec.model.quantize, 2.0)
    needed = params * per_param  # GB of weights, ~GiB at this precision
    if needed <= available:
        return []
    return [
        warning(
            "ModelMayNotFit",
            f"{spec.model.source} has about {params:g}B parameters: about {needed:.0f} GiB of "
            f"weights at {per_param:g} bytes per parameter, more than the {available} GiB of "
            f"accelerator memory one copy gets ({gpus} x {itype.accelerator_memory_gib} GiB on "
            f"{itype.name}); give each copy more accelerators, pick a larger instance type or "
            "set model.quantize",
        )
    ]
