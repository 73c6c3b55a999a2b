"""What a paper adds on top of the engine: losses and training objectives, each selected by name."""
