"""Training: the input pipeline from the shards, the training loop with resume, and export.

The stage's entry is `run.train`; its settings are `config.TrainConfig` with the model's `ModelConfig`.
"""
