"""Rebuild operator/llm_operator/core/images.json from the SageMaker Python SDK's data.

The operator picks container images from its own table (no SDK, no network at run
time). This script copies the facts it needs from the SDK's `image_uri_config/*.json`
files, the same files `sagemaker.image_uris.retrieve` reads, and names the file
each family came from. Tags are built as the SDK's `_format_tag` builds them.

    python -m venv /tmp/sdk && /tmp/sdk/bin/pip download --no-deps sagemaker-core -d /tmp/sdk
    unzip -q /tmp/sdk/sagemaker_core-*.whl 'sagemaker/core/image_uri_config/*' -d /tmp/sdk
    python scripts/image_table.py /tmp/sdk/sagemaker/core/image_uri_config 2.27.0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "operator/llm_operator/core/images.json"

# engine -> accelerator kind -> (SDK file, processor in the tag, oldest version kept, what it is)
FAMILIES: dict[str, dict[str, tuple[str, str | None, str, str]]] = {
    "vllm": {
        "gpu": ("vllm.json", "gpu", "0.23.0", "AWS Deep Learning Container for vLLM on SageMaker"),
    },
    "sglang": {
        "gpu": (
            "sglang.json",
            "gpu",
            "0.5.13",
            "AWS Deep Learning Container for SGLang on SageMaker",
        ),
    },
    "lmi": {
        "gpu": ("djl-lmi.json", None, "0.28.0", "AWS DJL Large Model Inference (LMI) container"),
        "neuron": (
            "djl-neuronx.json",
            None,
            "0.26.0",
            "AWS DJL LMI container for Inferentia2 and Trainium (transformers-neuronx)",
        ),
    },
    "tgi": {
        "gpu": ("huggingface-llm.json", "gpu", "2.4.0", "Hugging Face TGI container (GPU)"),
        "neuron": (
            "huggingface-llm-neuronx.json",
            "neuronx",
            "0.0.25",
            "Hugging Face TGI container for Inferentia2 and Trainium (optimum-neuron)",
        ),
    },
    "tei": {
        "gpu": (
            "huggingface-tei.json",
            "gpu",
            "1.2.3",
            "Hugging Face Text Embeddings Inference container (GPU)",
        ),
        "cpu": (
            "huggingface-tei-cpu.json",
            "cpu",
            "1.2.3",
            "Hugging Face Text Embeddings Inference container (CPU: CPU instances, serverless)",
        ),
    },
}

# The container_version key where it is not the tag's processor (the SDK passes
# inference_tool="neuronx" for the TGI Neuron family, which replaces "inf2" in the tag).
CONTAINER_KEY = {"huggingface-llm-neuronx.json": "inf2"}

# Tags the operator rendered before it read the SDK's files (the floating tags of the same
# releases). Kept, so an operator upgrade never changes the image of a running endpoint.
KEPT_TAGS = {
    "huggingface-llm.json": {
        "2.4.0": "2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04",
        "3.0.1": "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04",
    }
}

# Families the SDK does not have, said in the table so the operator can refuse clearly.
MISSING: dict[str, dict[str, str]] = {
    "vllm": {
        "neuron": (
            "no AWS vLLM Neuron container in the SDK's image_uri_config (huggingface-vllm-neuronx "
            "is Hugging Face's optimum-neuron container, configured differently)"
        )
    },
    "sglang": {"neuron": "no SGLang Neuron container in the SDK's image_uri_config"},
    "tei": {
        "neuron": "no Text Embeddings Inference Neuron container in the SDK's image_uri_config"
    },
}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def family(root: Path, file: str, processor: str | None, oldest: str, what: str) -> dict[str, Any]:
    raw = json.loads((root / file).read_text())
    raw = raw.get("inference", raw)
    registries: dict[str, str] = {}
    versions: dict[str, Any] = {}
    repositories = set()
    for version, entry in raw["versions"].items():
        if not all(p.isdigit() for p in version.split(".")) or _key(version) < _key(oldest):
            continue
        repositories.add(entry["repository"])
        py = (entry.get("py_versions") or [None])[0]
        key = CONTAINER_KEY.get(file, processor or "")
        container = (entry.get("container_version") or {}).get(key, None)
        tag = "-".join(x for x in (entry["tag_prefix"], processor, py, container) if x)
        tag = KEPT_TAGS.get(file, {}).get(version, tag)
        for region, account in entry["registries"].items():
            if registries.setdefault(region, account) != account:
                raise SystemExit(f"{file}: {region} has two registry accounts")
        versions[version] = {"tag": tag, "regions": sorted(entry["registries"])}
    (repository,) = repositories
    every = sorted(registries)
    for info in versions.values():
        missing = sorted(set(every) - set(info.pop("regions")))
        if missing:
            info["missingRegions"] = missing
    ordered = dict(sorted(versions.items(), key=lambda kv: _key(kv[0])))
    aliases = {
        a: v
        for a, v in (raw.get("version_aliases") or {}).items()
        if v in ordered and a != "latest"
    }
    return {
        "source": f"SageMaker Python SDK image_uri_config/{file}: {what}",
        "repository": repository,
        "default": list(ordered)[-1],
        "aliases": aliases,
        "versions": ordered,
        "registries": dict(sorted(registries.items())),
    }


def main() -> None:
    root, sdk_version = Path(sys.argv[1]), sys.argv[2]
    engines: dict[str, Any] = {}
    for engine, kinds in FAMILIES.items():
        engines[engine] = {kind: family(root, *spec) for kind, spec in kinds.items()}
        for kind, why in MISSING.get(engine, {}).items():
            engines[engine][kind] = {"unavailable": why}
    table = {
        "source": (
            f"Generated by scripts/image_table.py from sagemaker-core {sdk_version} "
            "(the SageMaker Python SDK's image_uri_config JSON files); each family names "
            "its file. Regenerate, do not edit by hand."
        ),
        "engines": engines,
    }
    OUT.write_text(json.dumps(table, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
