"""loadwatch's load tests: Locust scenarios judged by the SLA.

Import-light on purpose (nothing is imported here): `locust` patches the standard library
with gevent on import, so only the Locust processes import `loadtests.process` (with
`loadtests.request_events`: the run plan and the request-event recorder),
`loadtests.openmodel` and the locustfiles. The rest is plain Python:

- `loadtests.options`: the `loadwatch loadtest` flags -> `LoadTestOptions`
  (`loadtests.run_options`); `loadtests.process_messages`: what the runner and its
  Locust processes exchange
- `loadtests.runner`: `run_loadtest(options) -> LoadTestResult` (spawns the Locust processes)
- `loadtests.result`: `LoadTestResult` (exit code, run info, stats with the sketch, verdict)
  and `show_result`, the edge that prints the verdict and writes the reports
- `loadtests.regression`: a run's figures against the baseline of earlier runs (pure)
- `loadtests.stats` (with `loadtests.series`), `loadtests.gate` (rows in
  `loadtests.thresholds`, the judged windows in `loadtests.judged`, ``--abort-on-fail`` in
  `loadtests.early_abort`), `loadtests.progress`: pure statistics, SLA verdict and the
  progress line
- `loadtests.report` (HTML page, SVG charts in `loadtests.charts`, their axes in
  `loadtests.chart_axes`, shared with the capacity report), `loadtests.summary`
  (the JSON summary), both of a `loadtests.run_info.RunInfo`: the run's reports (pure)
- `loadtests.worker_count`: ``--workers auto``, one worker per core to spare
- `loadtests.scenarios`: a built-in scenario by name (`SCENARIOS`, locustfiles shipped in
  `loadtests/locustfiles/`) or a user's locustfile by path (`resolve_scenario`)
- `loadtests.locustfile`: loads a locustfile's User classes (in a Locust process), or checks
  one from a child process (`check_locustfile`)
- `loadtests.outcomes`, `loadtests.breakdown`: the outcome and reason of each request (the
  one definition of an error, docs/errors.md) and the failures by reason after the verdict
- `loadtests.dataset`: the id ranges the reference services publish at GET /dataset
- `loadtests.saturation`: the generator's own CPU and loop-lag samples, and whether it was
  saturated (then the run is invalid, and its latency is not the service's)
- `loadtests.spawning`, `loadtests.connections`, `loadtests.keepalive` (Locust processes
  only): smooth ramps with users counted by class, one shared pool of keep-alive
  connections per process, keep-alive past descriptor 1023
"""

__all__: list[str] = []
