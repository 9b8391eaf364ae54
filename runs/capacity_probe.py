"""One capacity probe as a load shape: a short ramp, then a hold that alone is judged. Pure.

    shape = probe_shape(rate=40.0, from_rps=20.0, probe_s=30.0)   # ramp 6 s, hold 24 s
    options = probe_options(loadtest_options, shape)              # what run_loadtest runs

A probe is an open-model staged run (`loadtests.stages`, k6 semantics): it steps to
`from_rps`, ramps linearly to the probe's `rate` over `ramp_s` seconds, then holds `rate`
for `hold_s` = probe_s - ramp_s. The search (`runs.capacity_run`) starts each ramp at the
highest rate that has passed so far (0 before any): after a failed probe the next, lower
one does not begin at the rate that just broke the SLA, whose queue would spill into its
hold. The gate's judge window is the hold (``--judge-window RAMP:TOTAL``) and the run's
windows are `ramp_s` long, so the ramp is exactly the first window and the hold the
windows after it: the verdict, the latency rows and the windowed latency row (each window
of the hold on its own) are the hold's, and the ramp's connection set-up is never judged;
nor is a window past the planned end (answers that came in late). With `ramp_s` 0 the
probe holds `rate` from the start and the whole run is judged, in the options' own
windows.

The default ramp is a fifth of the probe, at most 10 s (`default_ramp_s`): long enough to
open the connections at a rate the service has already held, short enough that most of
the probe is judged. No I/O; O(1) per call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from loadtests.judged import JudgeWindow
from loadtests.options import LoadTestOptions
from loadtests.stages import Stage, Stages

__all__ = [
    "MAX_DEFAULT_RAMP_S",
    "RAMP_SHARE",
    "ProbeShape",
    "default_ramp_s",
    "probe_options",
    "probe_shape",
]

RAMP_SHARE = 0.2
"""The default ramp's share of a probe's duration."""
MAX_DEFAULT_RAMP_S = 10.0
"""The default ramp's ceiling in seconds (one default window of `loadwatch loadtest`)."""


def default_ramp_s(probe_s: float) -> float:
    """The ramp in seconds for a probe of `probe_s` seconds: min(10 s, probe_s / 5), to 1 ms."""
    return round(min(MAX_DEFAULT_RAMP_S, probe_s * RAMP_SHARE), 3)


@dataclass(frozen=True, slots=True)
class ProbeShape:
    """Ramp from `from_rps` to `rate` (req/s) over `ramp_s` seconds, then hold `rate` for
    `hold_s` seconds. Build with `probe_shape`, which checks the figures."""

    rate: float
    from_rps: float
    ramp_s: float
    hold_s: float

    @property
    def total_s(self) -> float:
        """The probe's whole duration in seconds (ramp + hold)."""
        return self.ramp_s + self.hold_s

    @property
    def stages(self) -> Stages:
        """The stages: a 0 s step to `from_rps`, the ramp, the hold (without a ramp: a step
        straight to `rate`, then the hold)."""
        if self.ramp_s <= 0:
            return Stages.of([Stage(0.0, self.rate), Stage(self.hold_s, self.rate)])
        start, ramp = Stage(0.0, self.from_rps), Stage(self.ramp_s, self.rate)
        return Stages.of([start, ramp, Stage(self.hold_s, self.rate)])

    @property
    def judge(self) -> JudgeWindow:
        """The part of the run the gate judges: the hold, from the ramp's end to the planned
        end (a window past it, of answers that came in late, would count a second of
        almost nothing and lower the hold's rate); the whole run when there is no ramp."""
        if self.ramp_s <= 0:
            return JudgeWindow()
        return JudgeWindow(self.ramp_s, self.total_s)


def probe_shape(
    rate: float, *, from_rps: float, probe_s: float, ramp_s: float | None = None
) -> ProbeShape:
    """The shape of a probe at `rate` req/s lasting `probe_s` seconds in all; `ramp_s` None:
    `default_ramp_s(probe_s)`. ValueError names the bad argument: `rate` > 0,
    0 <= `from_rps` <= `rate`, 0 <= `ramp_s` < `probe_s`."""
    ramp = default_ramp_s(probe_s) if ramp_s is None else ramp_s
    for name, value, good in (
        ("rate", rate, rate > 0),
        ("from_rps", from_rps, 0 <= from_rps <= rate),
        ("probe_s", probe_s, probe_s > 0),
        ("ramp_s", ramp, 0 <= ramp < probe_s),
    ):
        if not good:
            raise ValueError(f"{name}: out of range, got {value!r}")
    return ProbeShape(rate, from_rps, ramp, probe_s - ramp)


def probe_options(options: LoadTestOptions, shape: ProbeShape) -> LoadTestOptions:
    """`options` running `shape` in the open model (as ``--stages ... --model open``), judged
    over the hold only: judge window `shape.judge`, windows `ramp_s` long (the options' own
    windows when there is no ramp)."""
    shaped = options.shaped(shape.stages, open_model=True)
    window_s = shape.ramp_s if shape.ramp_s > 0 else options.window_s
    judge = shape.judge
    return replace(
        shaped,
        window_s=window_s,
        judge_from_s=judge.start_s,
        judge_until_s=judge.end_s,
        ramp_up_s=0.0,
    )
