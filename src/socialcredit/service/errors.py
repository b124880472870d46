"""The one error a room of the service raises for a request it refuses."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and a message naming the field. A 422 answers
    each field's problem (`problems`: {field, problem}, as a request FastAPI finds invalid); without
    them, its message's "field: problem" is the one."""

    def __init__(self, status: int, message: str, problems: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems

    def detail(self) -> str | list[dict[str, str]]:
        """What the answer's `detail` says: the problems of a 422, else the message."""
        if self.status != 422:
            return self.message
        if self.problems is not None:
            return self.problems
        field, _, problem = self.message.partition(": ")
        return [{"field": field, "problem": problem}] if problem else [{"field": "", "problem": self.message}]


def invalid(field: str, problem: str) -> ServiceError:
    """A 422 for one field's problem."""
    return ServiceError(422, f"{field}: {problem}", [{"field": field, "problem": problem}])
