"""The concerns of one planning pass, a module each, over the one `Pass` they share.

`state` (the pass and ownership), `dependencies` (model and endpoint config),
`endpoint`, `components` (the base and its adapters), `scaling`
(spec.autoscaling), `rollouts` (guarded rollouts and their rollback alarms),
`garbage` and `conditions` (phase, conditions and Warning Events).
`core.reconcile` runs them in order to converge to the spec; `core.teardown`
uses them to delete or retain.
"""
