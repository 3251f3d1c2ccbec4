"""Ingested data's contracts and readers: the TFRecord schema and wire codec, the manifest, and the
tf.data reader that training uses. Below every stage: ingest writes through it, the others read.
"""
