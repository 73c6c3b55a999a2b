"""The one training loop (Fabric, schedules, checkpoints, resume, progress). Knows nothing of any paper."""
