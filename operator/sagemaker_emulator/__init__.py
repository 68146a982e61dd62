"""A local emulator of the Amazon SageMaker control plane, spoken to by unmodified boto3."""
