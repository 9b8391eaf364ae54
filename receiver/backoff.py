"""When to try a failed delivery again: exponential backoff with jitter, then dead letter.

    policy = BackoffPolicy(base_s=1.0, max_s=300.0, max_attempts=8)
    decision = policy.after_failure(attempts=3, unit=rng.random())

Pure: the random draw `unit` (uniform in [0, 1)) is passed in, so tests choose it. The
delay after the n-th failed attempt is `min(max_s, base_s * factor**(n-1))` scaled by
a jitter in [1 - jitter, 1] ("equal jitter" at 0.5): retries of many deliveries that
failed together spread out instead of arriving together.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BackoffPolicy", "DeadLetter", "Retry"]


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after `delay_s` seconds."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Give up: `attempts` attempts failed; the delivery stays in the outbox as dead."""

    attempts: int


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Delays in seconds; `max_attempts` counts every attempt, the first included."""

    base_s: float = 1.0
    factor: float = 2.0
    max_s: float = 300.0
    jitter: float = 0.5
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if not self.base_s > 0:
            raise ValueError(f"base_s: expected a number > 0, got {self.base_s!r}")
        if not self.factor >= 1:
            raise ValueError(f"factor: expected a number >= 1, got {self.factor!r}")
        if not self.max_s >= self.base_s:
            raise ValueError(f"max_s: expected a number >= base_s, got {self.max_s!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter: expected a fraction 0..1, got {self.jitter!r}")
        if not self.max_attempts >= 1:
            raise ValueError(
                f"max_attempts: expected a whole number >= 1, got {self.max_attempts!r}"
            )

    def delay_s(self, attempts: int, unit: float) -> float:
        """Seconds to wait after the `attempts`-th failure, for a draw `unit` in [0, 1)."""
        try:
            ceiling = min(self.max_s, self.base_s * self.factor ** max(0, attempts - 1))
        except OverflowError:
            ceiling = self.max_s
        return ceiling * (1.0 - self.jitter * unit)

    def after_failure(self, attempts: int, unit: float) -> Retry | DeadLetter:
        """What to do once the `attempts`-th attempt (1-based) has failed."""
        if attempts >= self.max_attempts:
            return DeadLetter(attempts)
        return Retry(self.delay_s(attempts, unit))
