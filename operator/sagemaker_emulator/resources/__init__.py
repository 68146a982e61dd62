"""SageMaker operations, one module per resource type."""
