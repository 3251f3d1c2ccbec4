"""Evaluation: COCO detection metrics, lesion-level FROC, image-level clinical metrics, blessing, report.

The stage's entry is `run.run_evaluation`; its settings are `config.EvaluateConfig`.
"""
