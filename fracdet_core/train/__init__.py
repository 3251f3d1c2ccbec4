"""Training: the input pipeline from the shards, the training loop with resume, and export.

Two phases: the detector on the in-scope images, then the indications head on the detector frozen
(`indications_phase`). The stage's entry is `run.train`; its settings are `config.TrainConfig` with
the model's `ModelConfig`.
"""
