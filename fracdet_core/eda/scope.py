"""Which rows of `labels.parquet` are in scope, and the out-of-scope images counted apart.

Out-of-scope images (other anatomy, other modalities; `image/in_scope` 0) have no boxes and are
no background of the detector's classes: the class tables, the class weights, the background
counts and the checks leave them out, and the report counts them per anatomy. A table written
before the `in_scope` column existed is in scope throughout.
"""

from __future__ import annotations

import pandas as pd


def out_of_scope_mask(labels: pd.DataFrame) -> pd.Series:
    """True on the rows of out-of-scope images."""
    if "in_scope" not in labels.columns:
        return pd.Series(False, index=labels.index)
    return labels["in_scope"].eq(False)


def in_scope_rows(labels: pd.DataFrame) -> pd.DataFrame:
    """The rows of in-scope images (every row of a table without the `in_scope` column)."""
    return labels[~out_of_scope_mask(labels)]


def out_of_scope_stats(labels: pd.DataFrame, split: str) -> dict:
    """`{"images": n, "anatomies": {kind: n}}` of the split's out-of-scope images, kinds sorted."""
    rows = labels[out_of_scope_mask(labels) & (labels["split"] == split)].drop_duplicates("image_id")
    counts = rows["anatomy"].value_counts() if len(rows) else pd.Series(dtype=int)
    return {"images": len(rows), "anatomies": {str(kind): int(counts[kind]) for kind in sorted(counts.index)}}
