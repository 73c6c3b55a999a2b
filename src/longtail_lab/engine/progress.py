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

    def update(self, epoch: int, step: int, means: dict[str, float], images_per_s: float) -> None:
        """``means``: the running epoch means of the loss and the objective's metrics."""
        shown = " ".join(
            f"{_short(key)} {value:.4f}" if key == "loss" else f"{_short(key)} {value:.3f}"
            for key, value in means.items()
        )
        stats = f"{shown} {images_per_s:,.0f} img/s"
        self._bar.update(step, stats)
        if not self.rich and self.enabled:
            log.info("epoch %d/%d step %d/%d %s", epoch + 1, self.total_epochs, step, self.steps, stats)

    def end_epoch(self, record: dict, hidden: set[str] | frozenset[str] = frozenset()) -> None:
        """Log the epoch's record, without the keys in ``hidden`` (e.g. an objective's detailed diagnostics)."""
        if self.enabled:
            # the loss, the objective's step metrics (e.g. train_acc) and the epoch numbers it shows (e.g. review_loss)
            metrics = "".join(
                f" {_short(key)} {value:.4g}"
                for key, value in record.items()
                if key not in NOT_METRICS and key not in hidden and isinstance(value, float)
            )
            log.info(
                "epoch %d/%d done:%s lr %.4g %.1fs %.0f img/s",
                record["epoch"],
                self.total_epochs,
                metrics,
                record["lr"],
                record["time_s"],
                record["images_per_s"],
            )


NOT_METRICS = ("epoch", "lr", "images", "steps", "time_s", "images_per_s")


def _short(key: str) -> str:
    return "acc" if key == "train_acc" else key
