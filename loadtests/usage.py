"""`UsageError`: a `loadwatch loadtest` flag (or scenario variable) is invalid."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(ValueError):
    """A flag (or scenario variable) is invalid; `flag` names it, the message says why."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"{flag}: {message}")
        self.flag = flag
