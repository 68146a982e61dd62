"""Kubernetes operator reconciling LLMEndpoint resources into Amazon SageMaker."""

__version__ = "0.1.0"
