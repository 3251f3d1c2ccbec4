"""AP@0.5 from per-image match results, for any multiset of images, without rerunning COCOeval.

COCOeval's expensive step is matching detections to truth boxes, and a match depends only on
its own image. Once the matches at IoU 0.5 are extracted (see `coco.py`), the AP of any
resample of the images is a sort and a few cumulative sums. `per_class_ap50` reproduces
`pycocotools.cocoeval.COCOeval.accumulate` for area range "all" and 100 detections per image:
101-point interpolated precision, detections ranked by a mergesort on `-score` over the
images concatenated in order (so ties keep image order, then each image's own order), and
classes without truth boxes left out of the mean.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# pycocotools' `Params.recThrs`: recall 0, 0.01, ..., 1.
RECALL_GRID = np.linspace(0.0, 1.0, 101)


@dataclasses.dataclass(frozen=True)
class ClassMatches:
    """One class's detections over all images at IoU 0.5, in pycocotools' ranking order.

    Attributes:
        image_index: int64 (D,) position of each detection's image in the evaluated list.
        scores: float64 (D,) non-increasing.
        matched: bool (D,) the detection matched a truth box at IoU >= 0.5.
        ignored: bool (D,) pycocotools ignores it (matched an ignored truth box, or outside
            the area range); neither a true nor a false positive.
        truth_per_image: int64 (I,) truth boxes of this class pycocotools does not ignore.
    """

    image_index: np.ndarray
    scores: np.ndarray
    matched: np.ndarray
    ignored: np.ndarray
    truth_per_image: np.ndarray

    @classmethod
    def ranked(
        cls,
        image_index: np.ndarray,
        scores: np.ndarray,
        matched: np.ndarray,
        ignored: np.ndarray,
        truth_per_image: np.ndarray,
    ) -> ClassMatches:
        """Rank detections given image by image, in image order, each image's best first.

        That is the order COCOeval's `evalImgs` holds them in; the stable mergesort on
        `-score` then gives `accumulate`'s ranking, ties included.
        """
        scores = np.asarray(scores, np.float64)
        order = np.argsort(-scores, kind="mergesort")
        return cls(
            image_index=np.asarray(image_index, np.int64)[order],
            scores=scores[order],
            matched=np.asarray(matched, bool)[order],
            ignored=np.asarray(ignored, bool)[order],
            truth_per_image=np.asarray(truth_per_image, np.int64),
        )


@dataclasses.dataclass(frozen=True)
class MatchResults:
    """Attributes:
        num_images: I, the number of evaluated images.
        per_class: one `ClassMatches` per class id, in `CLASS_NAMES` order.
    """

    num_images: int
    per_class: tuple[ClassMatches, ...]


def per_class_ap50(matches: MatchResults, image_counts: np.ndarray) -> np.ndarray:
    """AP@0.5 of every class for a batch of image multisets.

    Args:
        matches: the per-image matches of all images.
        image_counts: (B, I) how many times each image counts in each of B multisets; an
            image counted twice contributes its truth boxes and detections twice.

    Returns:
        float64 (B, C) AP@0.5 per multiset and class; NaN where the multiset holds no truth
        box of the class (pycocotools' -1, left out of the mean).

    The copies of an image are ranked next to each other. Where one image has two detections
    of one class with exactly equal scores, pycocotools on a dataset that repeats the image
    would interleave the copies (a, b, a, b) where this ranks them (a, a, b, b); with an
    identity multiset the result is pycocotools' exactly.
    """
    counts = np.asarray(image_counts, np.float64)
    if counts.ndim != 2 or counts.shape[1] != matches.num_images:
        raise ValueError(f"image_counts must be (B, {matches.num_images}), got {counts.shape}")
    return np.stack([_class_ap50(class_matches, counts) for class_matches in matches.per_class], axis=1)


def ap50_from_matches(matches: MatchResults, image_counts: np.ndarray | None = None) -> float | None:
    """mAP@0.5 (COCO's `stats[1]`) of a multiset of the images.

    Args:
        matches: the per-image matches of all images.
        image_counts: (I,) how many times each image counts; None counts each image once,
            which reproduces pycocotools on the whole set.

    Returns:
        The mean AP@0.5 over classes with at least one truth box, or None when the multiset
        holds no truth box at all (pycocotools reports -1).
    """
    if image_counts is None:
        image_counts = np.ones(matches.num_images)
    class_ap = per_class_ap50(matches, np.asarray(image_counts)[None, :])[0]
    defined = class_ap[~np.isnan(class_ap)]
    return float(defined.mean()) if len(defined) else None


def _class_ap50(matches: ClassMatches, counts: np.ndarray) -> np.ndarray:
    """(B,) AP@0.5 of one class for B multisets, NaN without truth; mirrors `accumulate`.

    A detection repeated by its image's count w is w consecutive ranks. Within such a run the
    precision rises (true positives) or falls (false positives, ignored ones keep it), so the
    interpolated precision at any rank inside a run equals the one at the run's last rank, and
    only a true-positive run can first reach a recall level: the arithmetic at run ends is
    enough, on the unexpanded arrays.
    """
    truth = counts @ matches.truth_per_image  # (B,)
    ap = np.full(len(counts), np.nan)
    has_truth = truth > 0
    if not len(matches.scores):
        ap[has_truth] = 0.0
        return ap
    weights = counts[has_truth][:, matches.image_index]  # (B', D)
    true_positive = np.cumsum(weights * (matches.matched & ~matches.ignored), axis=1)
    false_positive = np.cumsum(weights * (~matches.matched & ~matches.ignored), axis=1)
    recall = true_positive / truth[has_truth][:, None]
    precision = true_positive / (false_positive + true_positive + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # best precision at this recall or beyond
    num_ranks = recall.shape[1]
    interpolated = np.zeros((len(recall), len(RECALL_GRID)))
    for row, (row_recall, row_envelope) in enumerate(zip(recall, envelope, strict=True)):
        ranks = np.searchsorted(row_recall, RECALL_GRID, side="left")
        reached = ranks < num_ranks  # recall levels never reached keep precision 0
        interpolated[row, reached] = row_envelope[ranks[reached]]
    ap[has_truth] = interpolated.mean(axis=1)
    return ap
