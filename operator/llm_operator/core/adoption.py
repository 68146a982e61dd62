"""Adopting an endpoint people made by hand (or with other tools): only on explicit opt-in.

The annotation `llmoperator.io/adopt-endpoint: <endpoint name>` on an LLMEndpoint
asks the operator to take over that existing endpoint, its endpoint config, its
inference components and their models. The ownership rule still holds: the
shell first proves that none of them is tagged for another owner, then tags
them with this LLMEndpoint's ownership tags and records them in status; from
then on they are this LLMEndpoint's like any it created (updated in place,
replaced, garbage collected, deleted with it under deletionPolicy Delete).
Without the annotation an untagged resource stays a NameConflict.
"""

from __future__ import annotations

from collections.abc import Mapping

from llm_operator.core import naming
from llm_operator.core.attribution import Attribution, attribute
from llm_operator.core.desired import CLUSTER_ID_TAG, CLUSTER_TAG, UID_TAG

ADOPT_ANNOTATION = "llmoperator.io/adopt-endpoint"


class AdoptionError(ValueError):
    """The adoption cannot go ahead; `reason` is the status condition's reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def requested(annotations: Mapping[str, str]) -> str | None:
    """The endpoint name the LLMEndpoint asks to adopt, None when it asks for none."""
    name = (annotations.get(ADOPT_ANNOTATION) or "").strip()
    if not name:
        return None
    if len(name) > naming.MAX_SAGEMAKER_NAME or not naming.ENDPOINT_NAME_RE.match(name):
        raise AdoptionError(
            "InvalidAdoption",
            f"annotation {ADOPT_ANNOTATION}: {name!r} is not a SageMaker endpoint name",
        )
    return name


def check_owner(
    kind: str,
    name: str,
    tags: Mapping[str, str],
    uid: str,
    *,
    cluster_id: str = "",
    cluster_name: str = "",
) -> bool:
    """True when the resource must be tagged, False when it already is ours.

    Raises AdoptionError when it belongs to someone else: an adoption never takes
    a resource another owner's tags claim, nor one another cluster's tags claim.
    """
    owner = tags.get(UID_TAG)
    if owner == uid:
        return False
    if owner is not None:
        raise AdoptionError(
            "AdoptionRefused",
            f"SageMaker {kind} {name} is tagged for another owner (uid {owner}); "
            f"only untagged resources can be adopted ({ADOPT_ANNOTATION})",
        )
    if attribute(tags, cluster_id, cluster_name) is Attribution.OTHER:
        theirs = tags.get(CLUSTER_ID_TAG) or tags.get(CLUSTER_TAG)
        raise AdoptionError(
            "AdoptionRefused",
            f"SageMaker {kind} {name} is tagged as another cluster's ({theirs}); only "
            f"resources no cluster claims can be adopted ({ADOPT_ANNOTATION})",
        )
    return True
