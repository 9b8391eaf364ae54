"""What builds on finished load-test runs: history storage, regression against it, export.

Import-light: each submodule is imported where it is used.

- `runs.history`: runs stored through SQLAlchemy (SQLite by default, PostgreSQL by URL),
  the baseline of earlier comparable runs, and the `loadwatch history` table
- `runs.record`: the edge after a run (`--record`, `--pushgateway`) and `loadwatch history`
- `runs.export`: the result gauges pushed to a Pushgateway
"""

__all__: list[str] = []
