"""The `loadwatch` command: a thin CLI over the collector, services, rules and load tests."""

__all__: list[str] = []
