"""The exit codes of every loadwatch command and process, in one table. Pure, no I/O.

    sys.exit(ExitCode.USAGE)        # a CI job reads 2: fix the flags or the SLA file

0 the run passed, 1 an SLA objective failed or the run cannot be trusted (the load
generator was saturated in too many windows; the output's last line then starts with
"INVALID:"), 2 bad usage or configuration, 3 the target is unreachable or the
run stopped before a verdict (Ctrl-C, a service or a Locust worker died). Here in
`collector` because every package that runs a command may import it.
"""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    """A process exit status; an `int`, so `return ExitCode.OK` works where ints do."""

    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    ABORTED = 3
    """An alias of UNREACHABLE: the run stopped before a verdict could be reached."""

    @property
    def meaning(self) -> str:
        """One line for help texts: what a caller should understand by this code."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "success (a load test: every SLA objective passed)",
    ExitCode.FAILED: "an SLA objective failed, or the run cannot be trusted",
    ExitCode.USAGE: "bad usage or configuration (flags, SLA file, settings)",
    ExitCode.UNREACHABLE: "the target is unreachable, or the run was aborted before a verdict",
}
