"""Errors the services raise; the web views flash them, the API turns them into problem details."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(ServiceError):
    """Bad input; `errors` maps field names to messages."""

    status = 422


class Conflict(ServiceError):
    """The record would duplicate an existing one (`existing_id` says which)."""

    status = 409

    def __init__(self, message: str, existing_id=None, errors: dict[str, str] | None = None):
        super().__init__(message, errors)
        self.existing_id = existing_id


class NotAllowed(ServiceError):
    status = 403
