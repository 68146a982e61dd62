"""The I/O half of rendering an LLMEndpoint (`core.render` is the pure half): the
cluster id, the Namespace's annotations and the token's Secret, then the account the
calls go to, ready to use.

One path for the reconciler and for `llm-operator plan`: each hands `Renderer.render`
what it reads Kubernetes with (`Reads`: the operator's in-cluster client, or plan's
wrapper of the person's kubeconfig, which turns what it may not read into warnings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from llm_operator.core import render as core_render
from llm_operator.core import validation
from llm_operator.core.policy import Policy
from llm_operator.core.validation import Problem
from llm_operator.shell.aws import AwsError, SageMaker, Scope
from llm_operator.shell.kube import ClusterIdentityError
from llm_operator.shell.observe.registry import Registry
from llm_operator.shell.pools import pool_facts
from llm_operator.shell.secrets import Redactor, SecretError
from llm_operator.shell.settings import OperatorSettings


class Reads(Protocol):
    """What rendering reads from Kubernetes."""

    async def cluster_id(self) -> str:
        """kube-system's uid; raises `ClusterIdentityError`."""
        ...

    async def namespace_annotations(self, namespace: str) -> Mapping[str, str]:
        """The Namespace's annotations (empty when it is gone)."""
        ...

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret; raises `secrets.SecretError` with a reason."""
        ...


@dataclass(frozen=True)
class Rendering:
    """A rendered object and where its calls go, or what stops it."""

    rendered: core_render.Rendered
    redact: Redactor  # scrubs the token out of any text
    outcome: Scope | Problem  # the account and region, or why there is none

    @property
    def place(self) -> Scope | None:
        return self.outcome if isinstance(self.outcome, Scope) else None

    @property
    def refusal(self) -> Problem | None:
        """What stops a pass (the operator reports it as Degraded)."""
        return self.outcome if isinstance(self.outcome, Problem) else None


class Renderer:
    """Renders LLMEndpoints as the operator does; reads the cluster id once."""

    def __init__(self, sagemaker: SageMaker, settings: OperatorSettings) -> None:
        self.sagemaker = sagemaker
        self.settings = settings
        self.cluster_id: str | None = None  # once read; retried until it is
        # spec.model.modelPackage: the registry's listings and Describes, shared.
        self.registry = Registry(sagemaker, max_age=settings.resync_seconds)

    async def render(
        self,
        reads: Reads,
        body: Mapping[str, Any],
        *,
        status: Mapping[str, Any] | None = None,
        deleting: bool = False,
        cluster_name: str | None = None,
        governing: Sequence[Policy] = (),
    ) -> Rendering:
        """`status`: the status to go by (default the body's). `cluster_name`: the
        operator's, when not this process's own setting (plan learns it). `governing`:
        the LLMEndpointPolicies governing the object's namespace."""
        meta = body["metadata"]
        on = core_render.pool_of((body.get("spec") or {}).get("pool"), str(meta["namespace"]))
        pool = None
        if on is not None:
            pool = await pool_facts(
                reads,
                *on,
                cluster=self.settings.cluster_name if cluster_name is None else cluster_name,
                namespace_roles=self.settings.namespace_roles,
            )
        parsed = core_render.parse(body, status, governing, pool)
        cluster_problem: Problem | None = None
        if self.cluster_id is None:
            try:
                self.cluster_id = await reads.cluster_id() or None
            except ClusterIdentityError as exc:
                cluster_problem = validation.error(
                    core_render.CLUSTER_IDENTITY_UNREADABLE, str(exc)
                )
        token: str | None = None
        token_problem: Problem | None = None
        if parsed.token_ref is not None:
            try:
                token = await reads.read_secret(parsed.namespace, *parsed.token_ref)
            except SecretError as exc:
                token_problem = validation.error(exc.reason, str(exc))
        facts = core_render.Facts(
            cluster_name=self.settings.cluster_name if cluster_name is None else cluster_name,
            cluster_id=self.cluster_id or "",
            cluster_problem=cluster_problem,
            namespace_annotations=await reads.namespace_annotations(parsed.namespace),
            namespace_roles=self.settings.namespace_roles,
            default_region=self.settings.default_region,
            hf_token=token,
            token_problem=token_problem,
        )
        rendered = core_render.render(parsed, facts, deleting=deleting)
        redact = Redactor([token] if token else [])
        refusal = rendered.refusal()
        if refusal is not None or rendered.identity is None:
            return Rendering(rendered, redact, refusal or _NO_IDENTITY)
        place = Scope(rendered.desired.region, rendered.identity)
        try:
            await self.sagemaker.prepare(place)
        except AwsError as error:
            # The adapter remembers a refusal for a few poll intervals: never retried hot.
            return Rendering(rendered, redact, validation.error("AssumeRoleFailed", error.message))
        if parsed.wants_registry and not deleting:
            # The package is chosen from the registry of the account the calls go to; a
            # failed read raises (the pass backs off), deletion goes by names without it.
            read = await self.registry.read(place, parsed)
            rendered = core_render.render(
                parsed, dataclasses.replace(facts, registry=read), deleting=deleting
            )
            refusal = rendered.refusal()
            if refusal is not None:
                return Rendering(rendered, redact, refusal)
        return Rendering(rendered, redact, place)


# Never reached: an identity is missing only with its problem (`Rendered.refusal`).
_NO_IDENTITY = validation.error("InvalidRoleAnnotation", "no AWS identity")
