"""`sagemaker-emulator --with-moto`, with tags on Application Auto Scaling scalable targets.

moto 5.2 implements neither Tags in RegisterScalableTarget nor TagResource /
UntagResource / ListTagsForResource for Application Auto Scaling, which AWS
supports and the operator's ownership rule relies on (a target is changed only
when its uid tag names the LLMEndpoint); and its DescribeScalableTargets hands
back the same NextToken from the second page on, so more than 100 targets page
forever. This launcher adds the tags and fixes the paging in moto's in-process
backend, then runs the emulator's own CLI; the end-to-end tests of
spec.autoscaling and `bench/operator_scale.py --autoscaling` start the emulator
through it. It belongs in sagemaker_emulator.moto_sidecar, beside the other
additions to moto.

Run as a script: `python emulator_with_target_tags.py [sagemaker-emulator args]`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

TAGS = "emulator_scalable_target_tags"  # attribute of moto's backend: ARN -> tags


def serve_scalable_target_tags() -> None:
    """Add scalable-target tagging to moto's Application Auto Scaling (idempotent)."""
    from moto.applicationautoscaling import responses

    handler: Any = responses.ApplicationAutoScalingResponse
    if hasattr(handler, "list_tags_for_resource"):
        return
    register = handler.register_scalable_target
    deregister = handler.deregister_scalable_target

    def table(self: Any) -> dict[str, dict[str, str]]:
        backend = self.applicationautoscaling_backend
        if not hasattr(backend, TAGS):
            setattr(backend, TAGS, {})
        found: dict[str, dict[str, str]] = getattr(backend, TAGS)
        return found

    def register_scalable_target(self: Any) -> str:
        answer: str = register(self)
        tags = self._get_param("Tags") or {}
        if tags:
            arn = json.loads(answer)["ScalableTargetARN"]
            table(self).setdefault(arn, {}).update(tags)
        return answer

    def deregister_scalable_target(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        key = (
            self._get_param("ServiceNamespace"),
            self._get_param("ResourceId"),
            self._get_param("ScalableDimension"),
        )
        arns = [
            t.arn
            for targets in backend.targets.values()
            for t in targets.values()
            if (t.service_namespace, t.resource_id, t.scalable_dimension) == key
        ]
        answer: str = deregister(self)
        for arn in arns:
            table(self).pop(arn, None)
        return answer

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": table(self).get(self._get_param("ResourceARN"), {})})

    def tag_resource(self: Any) -> str:
        table(self).setdefault(self._get_param("ResourceARN"), {}).update(
            self._get_param("Tags") or {}
        )
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        tags = table(self).get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return json.dumps({})

    def describe_scalable_targets(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        found = backend.describe_scalable_targets(
            self._get_param("ServiceNamespace"),
            self._get_param("ResourceIds"),
            self._get_param("ScalableDimension"),
        )
        size = self._get_int_param("MaxResults") or 50
        start = int(self._get_param("NextToken") or 0)
        page = found[start : start + size]
        token = str(start + size) if start + size < len(found) else None
        return json.dumps(
            {"ScalableTargets": [responses._build_target(t) for t in page], "NextToken": token}
        )

    for name, method in {
        "describe_scalable_targets": describe_scalable_targets,
        "register_scalable_target": register_scalable_target,
        "deregister_scalable_target": deregister_scalable_target,
        "list_tags_for_resource": list_tags_for_resource,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
    }.items():
        setattr(handler, name, method)


if __name__ == "__main__":
    serve_scalable_target_tags()
    from sagemaker_emulator.cli import main

    main(sys.argv[1:])
