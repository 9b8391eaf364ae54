"""loadwatch's load tests: Locust scenarios judged by the SLA.

Import-light on purpose (nothing is imported here): `locust` patches the standard library
with gevent on import, so only the Locust processes import `loadtests.process`,
`loadtests.openmodel` and the scenario modules. The rest is plain Python:

- `loadtests.options`: the `loadwatch loadtest` flags -> `LoadTestOptions`
- `loadtests.runner`: `run_loadtest(options) -> exit code` (spawns the Locust processes)
- `loadtests.stats`, `loadtests.gate`, `loadtests.report`, `loadtests.progress`: pure
  statistics, SLA verdict, reports and the progress line
- `loadtests.scenarios`: the scenarios by name (`SCENARIOS`)
"""

__all__: list[str] = []
