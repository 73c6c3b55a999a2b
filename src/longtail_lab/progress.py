"""Progress of long-running steps: a rich bar on a terminal, plain log lines elsewhere (CI, files, notebooks).

``StepProgress(label, total)`` is a context manager; ``advance()`` / ``update()`` cost no more than a few
attribute writes, so they can be called every step. On a terminal the bar redraws itself; elsewhere a log
line is written at most every ``interval_s`` seconds (and when the step ends), so a 10-minute step is never
silent and a 1-second one writes one line (``interval_s=inf``: the caller writes its own lines). Pass
``console`` to force either mode (tests use a ``Console(force_terminal=True)`` to exercise the bar).
"""

from __future__ import annotations

import logging
import math
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("longtail_lab.progress")


def terminal_console(console: Console | None = None) -> Console | None:
    """The console to draw a bar on: ``console`` itself, or stderr when it is a terminal; else None."""
    console = console or Console(file=sys.stderr)
    return console if console.is_terminal else None


class StepProgress:
    def __init__(
        self,
        label: str,
        total: int,
        *,
        enabled: bool = True,
        console: Console | None = None,
        interval_s: float = 30.0,
        logger: logging.Logger = log,
    ) -> None:
        self.label, self.total, self.enabled = label, int(total), enabled
        self.interval_s, self.logger = interval_s, logger
        self.console = terminal_console(console) if enabled else None
        self.completed, self.stats = 0, ""
        self.started = self.last_log = time.perf_counter()
        self._logged = -1  # the count shown by the last plain line
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> StepProgress:
        if self.console is not None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, stats="")
        self.started = self.last_log = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.close(failed=exc[0] is not None)

    def restart(self, label: str, total: int | None = None) -> None:
        """Start over with a new label (e.g. the next epoch), keeping the bar on screen."""
        self.label = label
        self.total = self.total if total is None else int(total)
        self.completed, self.stats = 0, ""
        self.started = self.last_log = time.perf_counter()
        self._logged = -1
        if self._bar is not None:
            # ``reset`` replaces the task's fields: pass every field the columns read
            self._bar.reset(self._task, total=self.total, description=label, stats="")

    def advance(self, steps: int = 1) -> None:
        self.update(self.completed + steps)

    def update(self, completed: int, stats: str | None = None) -> None:
        """Set the count (and the stats text); log a line if ``interval_s`` has passed since the last one."""
        self.completed = completed
        if stats is not None:
            self.stats = stats
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, stats=self.stats)
        elif self.enabled and time.perf_counter() - self.last_log >= self.interval_s:
            self.log_line()

    def log_line(self) -> None:
        """One plain line now (no-op while a bar is drawn: the bar shows it)."""
        self.last_log = time.perf_counter()
        if self._bar is None and self.enabled:
            self._logged = self.completed
            elapsed = time.perf_counter() - self.started
            stats = f" {self.stats}" if self.stats else ""
            self.logger.info("%s: %d/%d%s (%.0fs)", self.label, self.completed, self.total, stats, elapsed)

    def close(self, failed: bool = False) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.enabled and not failed and math.isfinite(self.interval_s) and self.completed != self._logged:
            self.log_line()

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started
