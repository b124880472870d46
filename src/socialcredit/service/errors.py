"""The one error a room of the service raises for a request it refuses."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and a message naming the field."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
