"""Training progress: one bar per epoch on a terminal, plain log lines elsewhere (CI, files)."""

from __future__ import annotations

import logging

from rich.console import Console

from longtail_lab.progress import StepProgress

log = logging.getLogger("longtail_lab.train")


class TrainProgress:
    """``start_epoch`` / ``advance`` (every step, no host sync) / ``update`` (at a sync point, with the running
    loss and accuracy) / ``end_epoch`` (the epoch's record)."""

    def __init__(
        self, total_epochs: int, steps_per_epoch: int, enabled: bool = True, console: Console | None = None
    ) -> None:
        self.total_epochs, self.steps = total_epochs, steps_per_epoch
        self.enabled = enabled
        # ``interval_s`` is infinite: the loop decides when a line is due (every ``log_every`` steps or
        # ``log_interval_s`` seconds) and calls ``update``, which logs it.
        self._bar = StepProgress("train", steps_per_epoch, enabled=enabled, console=console, interval_s=float("inf"))
        self.rich = self._bar.console is not None

    def __enter__(self) -> TrainProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def start_epoch(self, epoch: int) -> None:
        self._bar.restart(f"epoch {epoch + 1}/{self.total_epochs}", self.steps)

    def advance(self, step: int) -> None:
        self._bar.update(step)

    def update(self, epoch: int, step: int, loss: float, acc: float, images_per_s: float) -> None:
        stats = f"loss {loss:.4f} acc {acc:.3f} {images_per_s:,.0f} img/s"
        self._bar.update(step, stats)
        if not self.rich and self.enabled:
            log.info("epoch %d/%d step %d/%d %s", epoch + 1, self.total_epochs, step, self.steps, stats)

    def end_epoch(self, record: dict) -> None:
        if self.enabled:
            extra = "".join(
                f" {key} {record[key]:.4g}" for key in ("review_loss", "review_kept") if record.get(key) is not None
            )
            log.info(
                "epoch %d/%d done: loss %.4f train acc %.4f lr %.4g%s %.1fs %.0f img/s",
                record["epoch"],
                self.total_epochs,
                record["loss"],
                record["train_acc"],
                record["lr"],
                extra,
                record["time_s"],
                record["images_per_s"],
            )
