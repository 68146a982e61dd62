"""The kinds of SageMaker resource the operator manages, and how SageMaker's API names them."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """A kind of SageMaker resource; its value is how messages name it."""

    MODEL = "model"
    ENDPOINT_CONFIG = "endpoint config"
    ENDPOINT = "endpoint"
    INFERENCE_COMPONENT = "inference component"

    @property
    def describe(self) -> str:
        """The Describe call of this kind."""
        return "Describe" + self._api

    @property
    def name_member(self) -> str:
        """The request and response member holding the resource's name."""
        return self._api + "Name"

    @property
    def arn_member(self) -> str:
        return self._api + "Arn"

    @property
    def status_member(self) -> str | None:
        """Where Describe and List put the status; models and configs have none."""
        return {
            Kind.ENDPOINT: "EndpointStatus",
            Kind.INFERENCE_COMPONENT: "InferenceComponentStatus",
        }.get(self)

    @property
    def _api(self) -> str:
        return self.value.title().replace(" ", "")
