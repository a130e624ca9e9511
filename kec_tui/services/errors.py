"""Errors a service raises for the screen to show as a message (never a traceback)."""


class ServiceError(Exception):
    """A refused request; `field` names the input at fault, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class ValidationError(ServiceError):
    pass


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for a one-line status or message."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
