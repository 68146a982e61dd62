"""Our models and endpoint configs nothing uses any more, deleted once everything
runs on the new ones."""

from __future__ import annotations

from llm_operator.core.actions import DeleteEndpointConfig, DeleteModel
from llm_operator.core.compare import spec_matches
from llm_operator.core.passes.state import Pass


def collect(p: Pass) -> None:
    """Delete our models and configs nothing uses: only once everything runs on the new.

    Runs only in a pass that queued nothing else (see `core.reconcile`).
    """
    if p.observed.former is not None and not p.foreign(p.observed.former.owner_uid):
        return  # moving onto a pool: the former endpoint's config goes after it
    ep = p.observed.endpoint
    if ep is None or ep.status != "InService":
        return
    if not p.serves_config(ep):
        return
    for want in p.desired.components:
        have = p.observed.components.get(want.name)
        if have is None or have.status != "InService" or not spec_matches(want, have):
            return
    wanted = {c.name for c in p.desired.components}
    if any(
        name not in wanted and not p.foreign(c.owner_uid)
        for name, c in p.observed.components.items()
    ):
        return  # a component on its way out may still run an old model
    for name, config in sorted(p.observed.endpoint_configs.items()):
        if name != p.desired.endpoint_config.name and not p.foreign(config.owner_uid):
            p.actions.append(DeleteEndpointConfig(name=name))
    for name, model in sorted(p.observed.models.items()):
        if name != p.desired.model.name and not p.foreign(model.owner_uid):
            p.actions.append(DeleteModel(name=name))
