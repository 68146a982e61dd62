"""Rewrite operator/llm_operator/api/regions.json from the installed botocore (`make regions`)."""

from __future__ import annotations

import json
from pathlib import Path

import botocore
import botocore.session

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
TARGET = Path(__file__).resolve().parents[1] / "operator" / "llm_operator" / "api" / "regions.json"


def current() -> dict[str, object]:
    session = botocore.session.get_session()
    return {
        "_source": (
            f"botocore {botocore.__version__} endpoint data: "
            "Session.get_available_regions('sagemaker', partition_name=...) for the aws, "
            "aws-cn and aws-us-gov partitions, and Session.get_available_partitions() for the "
            "partitions an ARN may name. Refresh with `make regions`; "
            "tests/unit/test_regions.py fails when it differs from the locked botocore."
        ),
        "partitions": {
            p: session.get_available_regions("sagemaker", partition_name=p) for p in PARTITIONS
        },
        # Every partition an ARN may name (arn:PARTITION:...): role ARNs are checked
        # against this exact list, never a prefix.
        "arnPartitions": session.get_available_partitions(),
    }


if __name__ == "__main__":
    TARGET.write_text(json.dumps(current(), indent=2) + "\n")
    print(f"wrote {TARGET}")
