"""The one training loop and what it needs; knows nothing of any paper.

- ``trainer.fit``: Fabric setup (CPU / CUDA bf16, DDP spawned inside), the epoch loop, checkpoints, exact resume;
- ``step``: the step contract: ``Objective`` (loss + metrics of an opaque batch, backward, parameter groups,
  ``on_step_end`` / ``on_epoch_end``, state), ``StepContext``, ``MetricSums``;
- ``batches``: batch sources (the split on the device, or files through DataLoader workers);
- ``schedule``: optimisers by name and lr schedules per epoch or per step; ``config``: ``TrainConfig``;
- ``image_training``: fit an image split under a fingerprint (resume / skip a finished run);
- ``predict``: batched prediction over arrays or files with a reduce hook;
- ``checkpoints``: atomic checkpoint files, the per-configuration resume store, model loading;
- ``progress``, ``threads``, ``cpu_memory``: what a run shows and how it uses the machine.
"""
