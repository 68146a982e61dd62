"""AWS error answers, shaped as SageMaker sends them so clients can match on code and message."""

from __future__ import annotations


class AwsError(Exception):
    """An error the emulator answers with instead of a result (never a traceback)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found(kind: str, arn: str) -> AwsError:
    """SageMaker reports a missing resource as a ValidationException, not ResourceNotFound."""
    return validation(f'Could not find {kind} "{arn}".')


def already_exists(kind: str, arn: str) -> AwsError:
    return validation(f'Cannot create already existing {kind} "{arn}".')


def in_progress(kind: str, arn: str) -> AwsError:
    return validation(f'Cannot update in-progress {kind} "{arn}".')


def resource_limit(message: str) -> AwsError:
    return AwsError("ResourceLimitExceeded", message)


def throttled() -> AwsError:
    return AwsError("ThrottlingException", "Rate exceeded")


def internal() -> AwsError:
    return AwsError("InternalFailure", "We encountered an internal error. Please try again.", 500)
