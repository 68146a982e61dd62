"""The shell: kopf handlers, the boto3 adapter and everything else that talks to the world."""
