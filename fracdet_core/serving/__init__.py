"""The exported model's serving side: letterbox geometry, box decoding and NMS, the input guard, the
`serving_default` signature and its export, and loading and calling a SavedModel.

Training imports the letterbox and the export from here, so what the model learns on and what a
server feeds it cannot drift apart. This package sits below train, evaluate, predict and registry.
"""
