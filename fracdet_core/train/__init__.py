"""Training: the input pipeline from the shards, the training loop with resume, and export."""
