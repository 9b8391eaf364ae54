"""Why requests failed, for the terminal: the top (route, reason) pairs after the verdict (pure).

    out.write(breakdown_text(stats))   # "" when every request was simply served

Failures are SLA errors (a 5xx or no answer) and scenario failures (answers the scenario did
not expect, such as a 404); their counts add up to `stats.failures + stats.unexpected`, the
share is of that total. Answers the scenario accepts on purpose (409, 202, 429) follow, per
route, since they are not failures but are not plain successes either. Costs O(reasons).
"""

from __future__ import annotations

from collections.abc import Sequence

from loadtests.stats import Outcome, ReasonCount, RunStats

__all__ = ["TOP_REASONS", "breakdown_text", "outcome_label"]

TOP_REASONS = 10
"""Rows shown per table; the rest are summed on one line."""

_LABELS = {
    Outcome.ERROR: "SLA error",
    Outcome.UNEXPECTED: "scenario",
    Outcome.ACCEPTED: "accepted",
    Outcome.SERVED: "served",
}


def outcome_label(outcome: Outcome) -> str:
    """'SLA error', 'scenario' (a scenario failure), 'accepted' or 'served'."""
    return _LABELS[outcome]


def breakdown_text(stats: RunStats, top: int = TOP_REASONS) -> str:
    """The failures by reason, then the accepted outcomes and the rate-limited count."""
    lines: list[str] = []
    failures = stats.failures_by_reason()
    total = stats.failures + stats.unexpected
    if failures:
        lines.append(
            f"failures by reason: {total:,} ({stats.failures:,} SLA errors: 5xx or no answer;"
            f" {stats.unexpected:,} scenario failures: answers the scenario did not expect)"
        )
        lines += _table(failures, total, top, noun="failures")
    accepted = stats.accepted_by_reason()
    if accepted:
        lines.append(f"accepted on purpose (not failures): {stats.accepted:,}")
        lines += _table(accepted, stats.accepted, top, noun="answers")
    if stats.rate_limited:
        lines.append(
            f"rate-limited (429): {stats.rate_limited:,} requests, not in the latency figures"
        )
    if stats.unexpected:
        lines.append(
            f"{stats.unexpected:,} scenario failures are not SLA errors; many of them mean the"
            " scenario does not fit the service (ids, routes, payloads)"
        )
    return "".join(f"{line}\n" for line in lines)


def _table(rows: Sequence[ReasonCount], total: int, top: int, *, noun: str) -> list[str]:
    shown = rows[:top]
    count_width = max(len(f"{r.count:,}") for r in shown)
    label_width = max(len(outcome_label(r.outcome)) for r in shown)
    route_width = max(len(r.route) for r in shown)
    lines = [
        f"  {r.count:>{count_width},}  {r.count / total:>6.1%}  "
        f"{outcome_label(r.outcome):<{label_width}}  {r.route:<{route_width}}  {r.reason}"
        for r in shown
    ]
    rest = rows[top:]
    if rest:
        lines.append(
            f"  ... {len(rest):,} more (route, reason) pairs: {sum(r.count for r in rest):,} {noun}"
        )
    return lines
