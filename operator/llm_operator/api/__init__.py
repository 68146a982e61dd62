"""The LLMEndpoint API: pydantic models, the CRD generated from them, the instance catalog."""
