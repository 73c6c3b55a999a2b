"""Training progress: a rich bar on a terminal, plain log lines elsewhere (CI, files)."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

log = logging.getLogger("longtail_lab.train")


class TrainProgress:
    def __init__(self, total_epochs: int, steps_per_epoch: int, enabled: bool = True) -> None:
        self.total_epochs, self.steps = total_epochs, steps_per_epoch
        self.enabled = enabled
        self.rich = enabled and Console(file=sys.stderr).is_terminal
        self._progress = None
        self._task = None

    def __enter__(self) -> TrainProgress:
        if self.rich:
            self._progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
            )
            self._progress.start()
            self._task = self._progress.add_task("train", total=self.steps, epoch=0, epochs=self.total_epochs, stats="")
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start_epoch(self, epoch: int) -> None:
        if self._progress is not None:
            self._progress.reset(self._task, total=self.steps, epoch=epoch + 1, stats="")

    def update(self, epoch: int, step: int, loss: float, acc: float, images_per_s: float) -> None:
        stats = f"loss {loss:.4f} acc {acc:.3f} {images_per_s:,.0f} img/s"
        if self._progress is not None:
            self._progress.update(self._task, completed=step, stats=stats)
        elif self.enabled:
            log.info("epoch %d/%d step %d/%d %s", epoch + 1, self.total_epochs, step, self.steps, stats)

    def end_epoch(self, record: dict) -> None:
        if self.enabled:
            log.info(
                "epoch %d/%d done: loss %.4f train acc %.4f lr %.4g %.1fs %.0f img/s",
                record["epoch"],
                self.total_epochs,
                record["loss"],
                record["train_acc"],
                record["lr"],
                record["time_s"],
                record["images_per_s"],
            )
