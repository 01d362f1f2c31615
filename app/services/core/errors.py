"""Domain errors with the HTTP status the API maps them to."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None):
        self.message = message
        self.details = details or {}
        self.headers: dict[str, str] = {}  # extra response headers (Retry-After)
        super().__init__(message)


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Unauthorised(ServiceError):
    status = 401
    code = "unauthorised"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Invalid(ServiceError):
    """Field-level validation errors: details = {"errors": {field: [message, ...]}}."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, list[str]], message: str = "Check the highlighted fields"):
        super().__init__(message, {"errors": errors})
        self.errors = errors

    def first_messages(self) -> dict[str, str]:
        """One message per field (its first), as pages show them beside the fields and in the summary."""
        return {name: messages[0] for name, messages in self.errors.items()}


class ProcessFailed(ServiceError):
    """The model could not continue with this input; nothing was changed."""

    status = 422
    code = "process_error"


class Throttled(ServiceError):
    """Too many attempts: try again after `retry_after` seconds (sent as Retry-After)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
