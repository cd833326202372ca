"""Domain errors. Listeners turn them into polite messages only the person who acted sees."""

from __future__ import annotations


class DomainError(Exception):
    """An error whose message is fit to show the user as it is."""


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    pass


class InvalidInput(DomainError):
    """Field errors keyed by field name; a modal shows each next to its input."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
