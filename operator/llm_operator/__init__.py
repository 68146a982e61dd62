"""Kubernetes operator reconciling LLMEndpoint resources into Amazon SageMaker."""

# The release's one version: the package, `llm-operator --version`, the AWS User-Agent,
# the chart and the image label all come from here (scripts/release.py keeps the copies).
__version__ = "0.1.0"
