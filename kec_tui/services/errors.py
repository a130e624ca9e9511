"""Errors a service raises for the screen to show as a message (never a traceback)."""
from kec_tui.db import first_line  # noqa: F401 - the one-line message of any error, for screens


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

