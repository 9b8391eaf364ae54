"""What builds on finished load-test runs: history, regression against it, export, schedules.

Import-light: each submodule is imported where it is used.

- `runs.history`: runs stored through SQLAlchemy (SQLite by default, PostgreSQL by URL),
  the baseline of earlier comparable runs, and the `loadwatch history` table
- `runs.record`: the edge after a run (`--record`, `--pushgateway`) and `loadwatch history`
- `runs.export`: the result gauges pushed to a Pushgateway
- `runs.schedule`, `runs.scheduler`: the schedule file and its pure plan; the loop
- `runs.capacity`, `runs.capacity_run`: the capacity search's pure strategy; its driver
- `runs.capacity_probe`: a probe as a load shape (ramp, then a judged hold); pure
"""

__all__: list[str] = []
