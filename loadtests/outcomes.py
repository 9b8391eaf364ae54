"""How a Locust request ended: its `Outcome` and a short reason (pure, no locust import).

`loadtests.stats` counts requests by (outcome, route, reason) as `ReasonCount`s.

    outcome, reason, rate_limited = classify(status, exception)

The one definition of an error (docs/errors.md, `collector.conventions.is_sla_error`):

- a 5xx, or no answer at all (status 0/None: connect error, reset, timeout), is an SLA
  error, whatever the scenario says about it;
- a 429 is rate-limited: counted, never a latency sample; accepted when the scenario marked
  it a success (`response.success()`), else a scenario failure;
- any other answer the scenario failed (a 4xx it did not expect, or `response.failure(...)`
  on a 2xx) is a scenario failure, not an SLA error;
- a success with a 4xx, 202 or 207 status is an outcome the scenario accepts on purpose;
- any other success was served as expected.

The reason is the status with its text (`HTTP 503 Service Unavailable`), else the exception's
class and the first line of its message (`ConnectionRefusedError: [Errno 111] ...`), at most
REASON_MAX_CHARS characters. Costs a microsecond or two per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

from collector.conventions import RATE_LIMITED_STATUS, is_sla_error

__all__ = [
    "MAX_REASONS",
    "OTHER_REASON",
    "REASON_MAX_CHARS",
    "Outcome",
    "ReasonCount",
    "classify",
    "exception_reason",
    "status_reason",
]

MAX_REASONS = 100
"""Distinct reason texts a recorder keeps; later new ones are counted as OTHER_REASON."""
OTHER_REASON = "<other>"


class Outcome(Enum):
    """How a request ended, from the scenario's point of view (docs/errors.md)."""

    SERVED = "served"
    """Answered as the scenario expected."""
    ACCEPTED = "accepted"
    """An answer the scenario accepts on purpose (409 already enrolled, 202, 429 ...)."""
    ERROR = "error"
    """An SLA error: a 5xx, or no answer at all (connect error, reset, timeout)."""
    UNEXPECTED = "unexpected"
    """A scenario failure: a 4xx (or a failed check) the scenario did not expect."""


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many requests to `route` ended with `outcome` for `reason`."""

    outcome: Outcome
    route: str
    reason: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's entry: ``{route, reason, count, outcome}``."""
        return {
            "route": self.route,
            "reason": self.reason,
            "count": self.count,
            "outcome": self.outcome.value,
        }


REASON_MAX_CHARS = 120
_NOTEWORTHY_SUCCESSES = frozenset({202, 207})
"""2xx answers worth counting by reason: accepted for later, partly done."""
_SERVED = (Outcome.SERVED, "", False)


def status_reason(status: int) -> str:
    """`HTTP 404 Not Found`; the bare code when the status is not a standard one."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def exception_reason(exception: BaseException) -> str:
    """The exception's class and the first line of its message, cut to REASON_MAX_CHARS."""
    name = type(exception).__name__
    lines = str(exception).strip().splitlines()
    text = f"{name}: {lines[0]}" if lines and lines[0] else name
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 3] + "..."


def classify(status: int | None, exception: BaseException | None) -> tuple[Outcome, str, bool]:
    """(outcome, reason, rate_limited) of one request; `status` is the HTTP status (0 or None
    without an answer), `exception` what Locust reported as the failure (None: a success)."""
    served = exception is None and status is not None and 200 <= status < 400
    if served and status not in _NOTEWORTHY_SUCCESSES:
        return _SERVED  # the common case first
    answered = status is not None and status > 0
    if is_sla_error(status):
        if answered:
            assert status is not None
            return Outcome.ERROR, status_reason(status), False
        return Outcome.ERROR, exception_reason(exception) if exception else "no response", False
    assert status is not None
    if status == RATE_LIMITED_STATUS:
        outcome = Outcome.ACCEPTED if exception is None else Outcome.UNEXPECTED
        return outcome, status_reason(status), True
    if exception is not None:
        reason = status_reason(status) if status >= 400 else exception_reason(exception)
        return Outcome.UNEXPECTED, reason, False
    if status >= 400 or status in _NOTEWORTHY_SUCCESSES:
        return Outcome.ACCEPTED, status_reason(status), False
    return Outcome.SERVED, "", False
