"""What builds on finished load-test runs: history storage, regression against it, export.

Import-light: each submodule is imported where it is used.

- `runs.history`: runs stored through SQLAlchemy (SQLite by default, PostgreSQL by URL),
  the baseline of earlier comparable runs, and the `loadwatch history` table
- `runs.record`: what is stored with a run (version, git commit, host, labels)
"""

__all__: list[str] = []
