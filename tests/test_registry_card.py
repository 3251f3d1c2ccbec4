import pytest

from fracdet_core.registry.card import render_card_html, render_card_markdown, wilson_interval


def test_wilson_interval_matches_the_textbook_value():
    low, high = wilson_interval(0.8, 10)  # 8 of 10: Wilson 95% is 0.490 to 0.943
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(1.0, 5)[1] == 1.0 and wilson_interval(None, 5) is None and wilson_interval(0.5, 0) is None


def test_the_card_states_use_data_metrics_and_limitations():
    metadata = {
        "name": "fracdet", "version": 4, "created_at": "2026-11-27T00:00:00+00:00", "blessed": True, "code_version": "0.1.0",
        "git_commit": "abc123", "uri": "gs://b/registry/fracdet/versions/4", "data_uri": "gs://b/ingest",
        "data_manifest_sha256": "f00",
        "metrics": {"map50": 0.61, "map50_ci95": [0.55, 0.67], "map50_95": 0.3, "images": 100, "split": "val", "latency_ms": 40.0,
                    "fracture": {"HAND": {"n_images": 20, "n_fractured": 10, "sensitivity": 0.9, "specificity": 0.7, "auc": 0.85,
                                          "threshold": 0.31}}},
        "blessing_reasons": ["PASS map50 0.610 >= 0.300"],
        "operating_thresholds": {"file": "operating_thresholds.json", "sha256": "5e" * 32, "schema_version": 1,
                                 "rule": {"method": "split_conformal", "target_sensitivity": 0.9, "split": "val",
                                          "calibration_images": 100, "calibration_fractured": 48}},
    }
    stats = {"splits": {"train": {"images": 800, "boxes": 801, "background_images": 107,
                                  "body_parts": {"HAND": {"positive_images": 67, "negative_images": 72}}}}}
    markdown = render_card_markdown(metadata, stats)
    for expected in ("## Intended use", "## Limitations", "not a medical device", "0.610 (95% bootstrap interval 0.550-0.670)",
                     "| HAND | 20 | 10 | 0.900 (0.60-0.98) | 0.700 (0.40-0.89) | 0.850 | 0.310 |", "train: 800 images",
                     "storageUri gs://b/registry/fracdet/versions/4",
                     f"- Serving calls an image fractured at the thresholds in operating_thresholds.json beside this card "
                     f"(sha256 {'5e' * 32}, schema version 1): the threshold column above.",
                     "- Chosen by the split-conformal rule for a target sensitivity of 0.90, on the calibration half of the val "
                     "split (100 images, 48 fractured); the figures above are of the other half."):
        assert expected in markdown, expected
    assert "<h2>Limitations</h2>" in render_card_html(metadata, stats)
