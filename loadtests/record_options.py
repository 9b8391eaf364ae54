"""`loadwatch loadtest`'s history and export flags and the `RecordOptions` they become.

    add_record_arguments(parser)
    recording = record_from_args(parser.parse_args(argv))   # UsageError names the flag

What happens after a run: store it (`--record`), push its gauges to a Pushgateway, and
annotate Grafana. Pure validation; the edge that acts on them is `runs.record`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.units import UnitError, parse_duration
from loadtests.usage import UsageError

__all__ = ["GRAFANA_TOKEN_ENV", "RecordOptions", "add_record_arguments", "record_from_args"]

GRAFANA_TOKEN_ENV = "LOADWATCH_GRAFANA_TOKEN"
"""The environment variable --grafana-token defaults to (kept out of process listings)."""


@dataclass(frozen=True)
class RecordOptions:
    """What happens after a run: `record` it in the history at `history_url` (None: the
    default) with `labels`, fail on a regression, push gauges to `pushgateway_url` (with
    `interval_s`, seconds between scheduled runs, when known), and annotate the Grafana at
    `grafana_url` with `grafana_token`."""

    record: bool = False
    history_url: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    fail_on_regression: bool = False
    pushgateway_url: str | None = None
    interval_s: float | None = None
    grafana_url: str | None = None
    grafana_token: str | None = field(default=None, repr=False)


def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    """The history and export flags, as their own argument group."""
    history = parser.add_argument_group("history and export (see docs/history.md)")
    history.add_argument(
        "--record", action="store_true", help="store the run in the history database"
    )
    history.add_argument(
        "--history-url",
        metavar="URL",
        help="history database (default sqlite+aiosqlite:///var/history.sqlite3)",
    )
    history.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --record: a label stored with the run (repeatable)",
    )
    history.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="with --record: exit 1 when the run regressed against its baseline",
    )
    history.add_argument(
        "--pushgateway", metavar="URL", help="push the run's result gauges to this Pushgateway"
    )
    history.add_argument(
        "--schedule-interval",
        metavar="DURATION",
        help="with --pushgateway: how often this run is scheduled; alerts after two missed",
    )
    history.add_argument(
        "--grafana-url", metavar="URL", help="annotate this Grafana with the run's outcome"
    )
    history.add_argument(
        "--grafana-token",
        metavar="TOKEN",
        help=f"with --grafana-url: a service-account token (default: ${GRAFANA_TOKEN_ENV})",
    )


def _url(value: str | None, flag: str, example: str) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise UsageError(flag, f"expected a URL like {example}, got {value!r}")
    return value


def record_from_args(
    namespace: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> RecordOptions:
    """Validate the history and export flags; UsageError names the first bad one.
    `environ` (default os.environ) supplies the Grafana token when no flag does."""
    ns = namespace
    environ = os.environ if environ is None else environ
    labels: dict[str, str] = {}
    for item in getattr(ns, "label", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError("--label", f"expected KEY=VALUE, got {item!r}")
        labels[key.strip()] = value.strip()
    record = bool(getattr(ns, "record", False))
    history_url = getattr(ns, "history_url", None)
    if history_url is not None and not history_url.startswith(("sqlite+", "postgresql+")):
        raise UsageError(
            "--history-url",
            f"expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB,"
            f" got {history_url!r}",
        )
    fail = bool(getattr(ns, "fail_on_regression", False))
    for flag, given in (("--label", bool(labels)), ("--fail-on-regression", fail)):
        if given and not record:
            raise UsageError(flag, "only applies with --record")
    pushgateway = _url(getattr(ns, "pushgateway", None), "--pushgateway", "http://127.0.0.1:9091")
    interval_text = getattr(ns, "schedule_interval", None)
    interval_s = None
    if interval_text is not None:
        if pushgateway is None:
            raise UsageError("--schedule-interval", "only applies with --pushgateway")
        try:
            interval_s = parse_duration(interval_text)
        except UnitError as exc:
            raise UsageError("--schedule-interval", str(exc)) from None
        if interval_s <= 0:
            raise UsageError("--schedule-interval", f"expected more than 0s, got {interval_text!r}")
    grafana_url = _url(getattr(ns, "grafana_url", None), "--grafana-url", "http://127.0.0.1:3000")
    token = getattr(ns, "grafana_token", None) or environ.get(GRAFANA_TOKEN_ENV) or None
    if grafana_url is not None and token is None:
        raise UsageError("--grafana-url", f"needs --grafana-token (or ${GRAFANA_TOKEN_ENV})")
    if getattr(ns, "grafana_token", None) is not None and grafana_url is None:
        raise UsageError("--grafana-token", "only applies with --grafana-url")
    return RecordOptions(
        record,
        history_url,
        labels,
        fail,
        pushgateway,
        interval_s,
        grafana_url.rstrip("/") if grafana_url is not None else None,
        token if grafana_url is not None else None,
    )
