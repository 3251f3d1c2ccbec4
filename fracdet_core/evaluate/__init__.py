"""Evaluation: COCO detection metrics, lesion-level FROC, image-level clinical metrics, blessing, report."""
