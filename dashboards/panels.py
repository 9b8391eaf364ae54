"""Panel builders shared by the dashboards: units, SLA threshold lines, one datasource (pure).

Every panel gets a title, the `${datasource}` template variable as datasource and a unit;
thresholds come from the SLA model, never typed in. Grafana JSON quirk: grafanalib writes the
base threshold step's value as the string "null"; `dashboards.render` turns it into JSON null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafanalib.core import (
    Annotations,
    Dashboard,
    GridPos,
    Heatmap,
    Stat,
    Table,
    Target,
    Template,
    Templating,
    Threshold,
    Time,
    TimeSeries,
)

from collector import conventions as names

__all__ = [
    "DATASOURCE",
    "Query",
    "datasource_variable",
    "heatmap",
    "load_test_annotations",
    "loadwatch_dashboard",
    "service_variable",
    "stat",
    "table",
    "timeseries",
]

DATASOURCE = "${datasource}"
GREEN, RED, ORANGE = "green", "red", "orange"


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL expression of a panel and its legend ('{{route}} p95')."""

    expr: str
    legend: str = ""
    instant: bool = False


def _targets(queries: Sequence[Query], fmt: str = "time_series") -> list[Target]:
    return [
        Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=chr(ord("A") + i),
            instant=q.instant,
            format=fmt,
            datasource=DATASOURCE,
        )
        for i, q in enumerate(queries)
    ]


def _steps(limit: float | None, *, floor: bool) -> list[Threshold]:
    """Green/red steps at `limit`; `floor`: values below it are bad (throughput, availability)."""
    if limit is None:
        return [Threshold(GREEN, 0, 0.0)]
    below, above = (RED, GREEN) if floor else (GREEN, RED)
    return [Threshold(below, 0, 0.0), Threshold(above, 1, limit)]


def timeseries(
    title: str,
    queries: Sequence[Query],
    unit: str,
    pos: GridPos,
    *,
    limit: float | None = None,
    floor: bool = False,
    description: str = "",
) -> TimeSeries:
    """A time series panel; `limit` draws the SLA line (red above it, or below a `floor`)."""
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        gridPos=pos,
        thresholds=_steps(limit, floor=floor),
        thresholdsStyleMode="line" if limit is not None else "off",
        legendDisplayMode="list",
    )


def stat(
    title: str,
    query: Query,
    unit: str,
    pos: GridPos,
    *,
    limit: float | None = None,
    floor: bool = False,
    description: str = "",
) -> Stat:
    """A single-value panel coloured by the SLA `limit`."""
    return Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets([query]),
        format=unit,
        gridPos=pos,
        thresholds=_steps(limit, floor=floor),
        colorMode="background",
        reduceCalc="lastNotNull",
    )


def table(
    title: str,
    query: Query,
    pos: GridPos,
    *,
    description: str = "",
    columns: Sequence[str] = (),
) -> Table:
    """An instant-query table (firing alerts). `columns`: the labels to show, in order
    (Grafana's "organize" transformation hides every other field); empty: all fields."""
    organize = {
        "id": "organize",
        "options": {
            "excludeByName": {},
            "indexByName": {name: i for i, name in enumerate(columns)},
            "renameByName": {},
        },
    }
    hide = {
        "id": "filterFieldsByName",
        "options": {"include": {"names": list(columns)}},
    }
    return Table(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets([query], fmt="table"),
        gridPos=pos,
        unit="short",
        transformations=[hide, organize] if columns else [],
    )


def heatmap(title: str, query: Query, pos: GridPos, *, description: str = "") -> Heatmap:
    """A heatmap of histogram buckets (the query returns one series per `le`)."""
    return Heatmap(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets([query], fmt="heatmap"),
        gridPos=pos,
        dataFormat="tsbuckets",
        yBucketBound="upper",
        hideZeroBuckets=True,
        extraJson={"fieldConfig": {"defaults": {"unit": "s"}}},
    )


def datasource_variable() -> Template:
    """`$datasource`: any Prometheus data source of the Grafana instance."""
    return Template(name="datasource", label="Data source", type="datasource", query="prometheus")


def service_variable(*, multi: bool) -> Template:
    """`$service`: the services that have answered requests; `multi`: several at once (for
    rows that repeat per service), else one."""
    metric, label = f"{names.HTTP_REQUESTS}_total", names.LABEL_SERVICE
    return Template(
        name="service",
        label="Service",
        dataSource=DATASOURCE,
        query=f"label_values({metric}, {label})",
        multi=multi,
        includeAll=multi,
        refresh=2,
        sort=1,
    )


def load_test_annotations() -> dict[str, object]:
    """The annotation query that shows every recorded load test (`--grafana-url`) as a
    span on the dashboard, by its tag."""
    return {
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "iconColor": "#8250df",
        "name": "load tests",
        "target": {
            "type": "tags",
            "tags": [names.LOADTEST_ANNOTATION_TAG],
            "limit": 100,
            "matchAny": False,
        },
    }


def loadwatch_dashboard(
    title: str,
    uid: str,
    tag: str,
    since: str,
    variables: Sequence[Template],
    panels: Sequence[object],
) -> Dashboard:
    """A dashboard as all of loadwatch's are: UTC, refreshed every 30 s, `$datasource` first,
    `since` ago ('now-6h') to now, load tests as annotations, panel ids assigned in order."""
    return Dashboard(
        title=f"loadwatch: {title}",
        uid=uid,
        tags=["loadwatch", tag],
        timezone="utc",
        time=Time(since, "now"),
        refresh="30s",
        templating=Templating([datasource_variable(), *variables]),
        annotations=Annotations([load_test_annotations()]),
        panels=list(panels),
    ).auto_panel_ids()
