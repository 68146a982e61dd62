"""The pure core: from a spec and what SageMaker reports to the calls to make and the status.

Nothing here does I/O or reads a clock; an import contract (`make test`) keeps
kopf, boto3, botocore and kubernetes out.
"""
