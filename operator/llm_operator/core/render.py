"""An LLMEndpoint object as the operator acts on it: the typed spec, its owner and AWS
identity, adoption and every problem, from the raw object and the few facts the shell
reads for it.

The reconciler and `llm-operator plan` both render through here (the shell's
`shell.render.Renderer` reads the facts: the token's Secret, the cluster id, the
Namespace's annotations), so `plan` derives the names, account, adoption and lookups
the operator derives. `parse` is the one reader of the raw object; nothing after it
looks at the raw body again. Problems are data, as in `validation`: the reconciler
reports `refusal()` as Degraded, `plan` prints them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_operator.api import regions
from llm_operator.api.models import DeletionPolicy, LLMEndpointSpec
from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import (
    adoption,
    desired,
    engines,
    identity,
    naming,
    policy,
    pools,
    registry,
    rollout,
    validation,
)
from llm_operator.core.desired import Adopted, DesiredState
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.status import MEMORY_KEY
from llm_operator.core.validation import Problem

# Stands for the token when the Secret is gone during deletion: names do not need it.
UNAVAILABLE_TOKEN = "unavailable"
# A cluster that cannot read its id writes nothing to AWS.
CLUSTER_IDENTITY_UNREADABLE = "ClusterIdentityUnreadable"


@dataclass(frozen=True)
class PoolFacts:
    """The LLMEndpointPool an LLMEndpoint's spec.pool names, as the shell read it."""

    namespace: str
    name: str
    uid: str = ""
    spec: LLMEndpointPoolSpec | None = None  # None: not found, or its spec is invalid
    cluster: str = ""  # the operator's cluster identity: part of the pool's names
    # The AWS identity the pool's namespace gives it (None: not resolved).
    identity: identity.Identity | None = None
    deleting: bool = False  # the pool has a deletionTimestamp: no new placements

    @property
    def host(self) -> desired.Host:
        return desired.Host(
            self.namespace,
            self.name,
            self.uid,
            pools.endpoint_name(self.namespace, self.name, self.cluster),
        )


def pool_of(spec_pool: Mapping[str, Any] | None, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of the pool a raw spec.pool names."""
    if not isinstance(spec_pool, Mapping) or not spec_pool.get("name"):
        return None
    return str(spec_pool.get("namespace") or namespace), str(spec_pool["name"])


@dataclass(frozen=True)
class Parsed:
    """The raw object, read once."""

    namespace: str
    name: str
    uid: str
    generation: int
    deletion_timestamp: str | None
    # Typed, with model.engine pinned to the engine the object runs; None: no parse.
    spec: LLMEndpointSpec | None
    # The spec's validation problems and a malformed adoption annotation.
    problems: tuple[Problem, ...]
    adopting: str | None  # the endpoint annotation llmoperator.io/adopt-endpoint names
    adopted: Adopted | None  # status.adopted: what an adoption took over
    memory: PlanMemory  # status.planMemory
    # From the typed spec, or from the raw one when it does not parse (deletion
    # must still reach the right account and remove what autoscaling made).
    region: str | None
    role_arn: str | None
    deletion_policy: DeletionPolicy
    autoscaling: bool
    # What the LLMEndpointPolicies made of the spec (their names and applied values).
    governed: policy.Governed = field(default_factory=lambda: policy.Governed(None))
    # spec.pool: the pool read for it (None: not on a pool).
    pool: PoolFacts | None = None
    # On a pool, the base component keeps the name `-base` it was placed with.
    base_on_pool: bool = False
    # status.model: the model package version last served (spec.model.modelPackage).
    served: registry.Served | None = None

    @property
    def token_ref(self) -> tuple[str, str] | None:
        """(Secret name, key) of the Hugging Face token, when there is one to read."""
        if self.spec is None or validation.errors(self.problems):
            return None
        ref = self.spec.model.hf_token_secret_ref
        return (ref.name, ref.key) if ref is not None else None

    @property
    def wants_registry(self) -> bool:
        """spec.model.modelPackage: the registry is read before the spec renders."""
        return (
            self.spec is not None
            and self.spec.model.model_package is not None
            and not validation.errors(self.problems)
        )

    def choose(self, listing: registry.Listing | None) -> registry.Choice:
        """The package to serve, from the group's listing (see `core.registry`)."""
        assert self.spec is not None and self.spec.model.model_package is not None
        return registry.choose(
            self.spec.model.model_package, listing, self.served, self.memory.package_rollbacks
        )


@dataclass(frozen=True)
class Facts:
    """What the shell read for one object (or could not: the problem says why)."""

    cluster_name: str = ""  # the operator's LLMOP_CLUSTER_NAME: part of every name
    cluster_id: str = ""  # kube-system's uid: tagged, never in names
    cluster_problem: Problem | None = None  # the cluster id could not be read
    namespace_annotations: Mapping[str, str] = field(default_factory=dict)
    namespace_roles: Mapping[str, str] = field(default_factory=dict)  # LLMOP_NAMESPACE_ROLES
    default_region: str = "us-east-1"
    hf_token: str | None = None
    token_problem: Problem | None = None  # the Secret could not be read
    # spec.model.modelPackage: the registry as read for it; None: not read (yet).
    registry: registry.Read | None = None


@dataclass(frozen=True)
class Rendered:
    """What to want and as whom; `complete` False: the spec did not render, and
    `desired` holds names alone (enough to delete by)."""

    parsed: Parsed
    desired: DesiredState
    complete: bool
    identity: identity.Identity | None  # None: `identity_problem` says why
    # The spec's problems (errors and warnings), the Secret's included.
    problems: tuple[Problem, ...]
    # What stops even a deletion: the cluster id, the namespace's identity.
    cluster_problem: Problem | None
    identity_problem: Problem | None
    deleting: bool
    # (type, reason, message): what the model registry moved (ModelVersionApproved, ...).
    events: tuple[tuple[str, str, str], ...] = ()

    @property
    def spec(self) -> LLMEndpointSpec | None:
        """The typed spec the desired state came from; None when it did not render."""
        return self.parsed.spec if self.complete else None

    @property
    def errors(self) -> list[Problem]:
        return validation.errors(self.problems)

    @property
    def warnings(self) -> list[Problem]:
        return validation.warnings(self.problems) if self.complete else []

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in (self.cluster_problem, self.identity_problem) if p is not None]

    def with_adopted(self, adopted: Adopted | None) -> Rendered:
        """After an adoption: what it took over is ours to observe and manage."""
        return dataclasses.replace(self, desired=dataclasses.replace(self.desired, adopted=adopted))

    def refusal(self) -> Problem | None:
        """The one problem that stops a pass, in the order the operator reports them:
        the cluster id, the spec's errors together (not while deleting: deletion goes
        by names), the namespace's identity."""
        errors = self.errors
        if self.cluster_problem is None and errors and not self.deleting:
            return validation.error(errors[0].reason, "; ".join(p.message for p in errors))
        return self.cluster_problem or self.identity_problem


@dataclass(frozen=True)
class Lookups:
    """What the observer looks up beyond the derived names."""

    alarms: frozenset[str]  # rollback alarms: wanted, remembered, or possible at deletion
    extra: frozenset[str]  # what an adoption tagged as ours
    scaling: bool  # the scalable target, its policies and alarm


def _base_on_pool(status: Mapping[str, Any], pool: PoolFacts | None) -> bool:
    """Status shows its base component on the pool's endpoint under the standalone name
    (`-base`, as placed before moved LLMEndpoints existed): kept, not replaced."""
    if pool is None:
        return False
    components = status.get("inferenceComponents")
    first = components[0] if isinstance(components, list) and components else None
    name = first.get("name") if isinstance(first, Mapping) else None
    return (
        status.get("endpointName") == pool.host.endpoint_name
        and isinstance(name, str)
        and name.endswith(f"-{naming.BASE_COMPONENT_SUFFIX}")
    )


def parse(
    body: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    governing: Sequence[policy.Policy] = (),
    pool: PoolFacts | None = None,
) -> Parsed:
    """Reads the object once. `status`: the status to go by (default the body's; the
    reconciler passes it with what it wrote since the body was read). `governing`: the
    LLMEndpointPolicies governing its namespace, applied to the typed spec."""
    meta = body["metadata"]
    status = dict(body.get("status") or {}) if status is None else status
    raw: Mapping[str, Any] = _mapping(body.get("spec"))
    spec, problems = validation.parse_spec(dict(raw))
    governed = policy.Governed(spec)
    if spec is not None:
        # The LLMEndpointPolicies' defaults, enforced tags and limits: the effective
        # spec is rendered, the stored one never changes.
        governed = policy.govern(spec, governing, status=status)
        spec = governed.spec
    placed = spec is None or spec.pool is None
    pool_problem: Problem | None = None
    if spec is not None and spec.pool is not None:
        placed, pool_problem = _on_pool(spec, pool, str(meta["namespace"]))
        if placed and pool is not None and pool.spec is not None:
            spec = pools.placed_spec(spec, pool.spec)
    if spec is not None and placed:
        # As the object runs: an unset engine stays the one status records (a model
        # package has none: its container is the package's).
        why = None
        if spec.model.model_package is None:
            why = engines.chosen_because(spec.model, status)
            spec = engines.pin(spec, status)
        problems = validation.validate(spec, name=meta["name"], engine_why=why)
    problems = [*governed.problems, *problems]
    if pool_problem is not None:
        problems.append(pool_problem)
    try:
        # A file given to `plan` may hold what the API server would refuse: no strings.
        annotations = {str(k): str(v) for k, v in _mapping(meta.get("annotations")).items()}
        adopting = adoption.requested(annotations)
    except adoption.AdoptionError as exc:
        adopting = None
        problems.append(validation.error(exc.reason, exc.message))
    aws = _mapping(raw.get("aws"))
    if spec is not None:
        region: str | None = spec.aws.region
        role: str | None = spec.aws.role_arn
        deletion: DeletionPolicy = spec.deletion_policy
        autoscaling = spec.autoscaling is not None
    else:
        region = str(aws["region"]) if aws.get("region") else None
        role = str(aws["roleArn"]) if aws.get("roleArn") else None
        deletion = "Retain" if raw.get("deletionPolicy") == "Retain" else "Delete"
        autoscaling = raw.get("autoscaling") is not None
    return Parsed(
        namespace=str(meta["namespace"]),
        name=str(meta["name"]),
        uid=str(meta["uid"]),
        generation=int(meta.get("generation") or 0),
        deletion_timestamp=meta.get("deletionTimestamp"),
        spec=spec,
        problems=tuple(problems),
        adopting=adopting,
        adopted=adoption.from_record(_mapping(status.get("adopted"))),
        memory=PlanMemory.from_dict(status.get(MEMORY_KEY)),
        base_on_pool=_base_on_pool(status, pool),
        served=registry.served(status),
        region=region,
        role_arn=role,
        deletion_policy=deletion,
        autoscaling=autoscaling,
        governed=governed,
        pool=pool if spec is not None and spec.pool is not None else None,
    )


def _on_pool(
    spec: LLMEndpointSpec, pool: PoolFacts | None, spec_namespace: str
) -> tuple[bool, Problem | None]:
    """Whether spec.pool's pool was read and matches; the problem when not."""
    if pool is None or pool.spec is None:
        where = f"{pool.namespace}/{pool.name}" if pool is not None else str(spec.pool)
        return False, validation.error(
            pools.POOL_NOT_FOUND,
            f"LLMEndpointPool {where} does not exist (or its spec is invalid): create it, "
            "or point spec.pool at an existing pool",
        )
    if not pool.spec.allows(pool.namespace, spec_namespace):
        allowed = ", ".join([pool.namespace, *pool.spec.allowed_namespaces])
        return True, validation.error(
            pools.POOL_NOT_ALLOWED,
            f"LLMEndpointPool {pool.namespace}/{pool.name} does not allow namespace "
            f"{spec_namespace} (allowed: {allowed}); ask its owner to add it to "
            "spec.allowedNamespaces",
        )
    if pool.spec.aws.region != spec.aws.region:
        return False, validation.error(
            pools.POOL_MISMATCH,
            f"LLMEndpointPool {pool.namespace}/{pool.name} is in {pool.spec.aws.region}, "
            f"this LLMEndpoint's aws.region is {spec.aws.region}: set the pool's region",
        )
    return True, None


def render(parsed: Parsed, facts: Facts, *, deleting: bool = False) -> Rendered:
    """The desired state, identity and problems of `parsed` with `facts`."""
    owner = desired.Owner(
        namespace=parsed.namespace,
        name=parsed.name,
        uid=parsed.uid,
        cluster=facts.cluster_name,
        cluster_id=facts.cluster_id,
    )
    problems = list(parsed.problems)
    token = facts.hf_token
    if facts.token_problem is not None:
        if deleting:
            token = UNAVAILABLE_TOKEN
        else:
            problems.append(facts.token_problem)
    want: DesiredState | None = None
    package: registry.Package | None = None
    events: tuple[tuple[str, str, str], ...] = ()
    notices: tuple[tuple[str, str], ...] = ()
    read = facts.registry
    if parsed.wants_registry and parsed.spec is not None and read is not None:
        # A spec whose registry was not read (yet, or while deleting) renders by names.
        choice = read.choice
        spec = parsed.spec
        if choice.problem is not None:
            problems.append(validation.error(*choice.problem))
        elif read.package is None:
            problems.append(
                validation.error(
                    registry.PACKAGE_UNAVAILABLE,
                    f"model package {choice.arn} cannot be read: {read.unavailable}",
                )
            )
        else:
            package = read.package
            refused = registry.check(
                package,
                region=spec.aws.region,
                instance_type=spec.instance.type if spec.instance is not None else "",
                endpoint_type=spec.endpoint_type,
            )
            if refused is not None:
                problems.append(validation.error(*refused))
            elif package.isolation and spec.model.hf_token_secret_ref is not None:
                problems.append(
                    validation.error(
                        registry.PACKAGE_UNSUPPORTED,
                        f"model package {package.arn} runs with network isolation (an AWS "
                        "Marketplace package): it cannot reach the Hugging Face Hub and is "
                        "never given the token; remove model.hfTokenSecretRef",
                    )
                )
            events = choice.events
            notices = (choice.notice,) if choice.notice is not None else ()
    if (
        parsed.spec is not None
        and not validation.errors(problems)
        and (not parsed.wants_registry or package is not None)
    ):
        try:
            want = desired.render(
                parsed.spec,
                owner,
                hf_token=token,
                generation=parsed.generation,
                endpoint_name=parsed.adopting,
                host=parsed.pool.host if parsed.pool is not None else None,
                base_on_pool=parsed.base_on_pool,
                package=package,
            )
            if package is not None and read is not None:
                want = dataclasses.replace(
                    want,
                    not_retried=registry.not_retried(read.listing, parsed.memory.package_rollbacks),
                    notices=notices,
                )
        except desired.RenderError as exc:
            problems.append(validation.error("InvalidSpec", str(exc)))
    complete = want is not None
    if want is None:
        want = _by_names(parsed, owner, parsed.region or facts.default_region)
    want = dataclasses.replace(
        want,
        adopted=parsed.adopted,
        deleted_at=parsed.deletion_timestamp if deleting else None,
    )
    who: identity.Identity | None = None
    identity_problem: Problem | None = None
    try:
        who = identity.resolve(
            parsed.namespace, facts.namespace_annotations, facts.namespace_roles, parsed.role_arn
        )
        identity.check_partition(who, want.region, regions.partition_of(want.region))
    except identity.IdentityError as exc:
        who, identity_problem = None, validation.error(exc.reason, exc.message)
    pool = parsed.pool
    if who is not None and pool is not None and pool.identity is not None:
        ours, theirs = who.account, pool.identity.account
        if ours != theirs:
            own = "the operator's own"
            identity_problem = validation.error(
                pools.POOL_MISMATCH,
                f"namespace {parsed.namespace} acts in AWS account {ours or own}, "
                f"LLMEndpointPool {pool.namespace}/{pool.name}'s endpoint is in account "
                f"{theirs or own}: a model is placed on a pool only from the pool's account",
            )
            who = None
    return Rendered(
        parsed=parsed,
        desired=want,
        complete=complete,
        identity=who,
        problems=tuple(problems),
        cluster_problem=facts.cluster_problem,
        identity_problem=identity_problem,
        deleting=deleting,
        events=events if want is not None and complete else (),
    )


def lookups(rendered: Rendered) -> Lookups:
    """What to observe for `rendered`, given the planner's memory in status."""
    memory = rendered.parsed.memory
    want = rendered.desired
    alarms = set(memory.alarms)
    if want.rollout is not None:
        alarms |= {a.name for a in want.rollout.owned_alarms}
    if rendered.deleting and alarms:
        alarms |= set(rollout.alarm_names(want.alarms_named_after))
    adopted = want.adopted
    extra: frozenset[str] = frozenset()
    if adopted is not None:
        extra = (
            frozenset({adopted.endpoint})
            | adopted.endpoint_configs
            | adopted.models
            | adopted.components
        )
    return Lookups(
        alarms=frozenset(alarms),
        extra=extra,
        # Status may not say so yet after a crash right after registering the target.
        scaling=memory.autoscaled or rendered.parsed.autoscaling,
    )


def _by_names(parsed: Parsed, owner: desired.Owner, region: str) -> DesiredState:
    """A spec that does not render is deleted by names alone: those `naming` derives."""
    endpoint = naming.endpoint_name(parsed.namespace, parsed.name, owner.cluster)
    pool = parsed.pool
    host = pool.host if pool is not None and pool.spec is not None else None
    return DesiredState(
        owner=owner,
        region=region,
        endpoint_type="InferenceComponent",
        host=host,
        endpoint_name=(
            host.endpoint_name
            if host is not None
            else parsed.adopted.endpoint
            if parsed.adopted is not None
            else endpoint
        ),
        # No content to hash: names that no real model or config can have.
        model=desired.DesiredModel(
            name=naming.immutable_name(endpoint, Kind.MODEL, ""), create_request={}
        ),
        endpoint_config=desired.DesiredEndpointConfig(
            name=naming.immutable_name(endpoint, Kind.ENDPOINT_CONFIG, ""),
            create_request={},
            instance_type="",
            initial_instance_count=0,
        ),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
