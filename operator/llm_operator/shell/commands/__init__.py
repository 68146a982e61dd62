"""The commands people run next to the operator: plan, invoke, audit."""
