"""Reading ingested data: the manifest and the TFRecord shards, shared by training and evaluation."""
