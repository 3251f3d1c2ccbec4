"""The detector of the original design: residual backbone -> FPN -> classification, box and objectness heads."""
