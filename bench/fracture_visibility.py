"""How visible each renderer's fractures are on the final 8-bit image: contrast, noise and Rose detectability by kind.

For each sampled positive study and each of its fractures alone: the study is rendered with that
fracture and without it through the same noise, and shown through the same display window.
Break pixels are those in the fracture's box where the presented signal changes by at least a
quarter of its largest change there. Contrast is the mean absolute grey difference over them;
noise the grey standard deviation around the box of the intact image minus the intact image drawn
with another noise seed, over sqrt 2; detectability contrast / noise x sqrt(break pixels) (Rose's
model; about 5 is what an ideal observer who knows where to look needs). Prints the median and
10th percentile by renderer and kind, then by renderer, joint-near or not and body part, and the
share below 5. Asserts nothing; runs on this checkout's code (set PYTHONPATH to measure another).

    python bench/fracture_visibility.py --studies 12 --size 512
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time
from collections import defaultdict

import numpy as np
from cpu import cpu_description

from fracdet_core.synth.outlines import OutlinesRadiograph
from fracdet_core.synth.outlines.scene import OutlineScene
from fracdet_core.synth.radiograph import Box, draw_radiograph
from fracdet_core.synth.scene import Scene
from fracdet_core.synth.tubes import TubesRadiograph

PARTS = ("ELBOW", "FINGER", "FOREARM", "HAND", "SHOULDER")
FLOOR = 5.0


def _reseeded(renderer: str, scene: Scene | OutlineScene) -> Scene | OutlineScene:
    """The same scene (either renderer's) drawn with another noise seed."""
    field = "acquisition" if renderer == "tubes" else "exposure"
    settings = getattr(scene, field)
    return dataclasses.replace(scene, **{field: dataclasses.replace(settings, noise_seed=settings.noise_seed + 1)})


def _displays(radiograph: TubesRadiograph | OutlinesRadiograph, scenes: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Signals and display images of `scenes`, all through the first one's display window."""
    kind = type(radiograph)
    signals = [kind(scene).signal() for scene in scenes]
    if hasattr(radiograph.scene, "exposure"):  # outlines: a window from the histogram, held fixed here
        from fracdet_core.synth.outlines.detector import display_window, to_display

        window = display_window(signals[0], scenes[0])
        images = [to_display(signal, scene, window) for signal, scene in zip(signals, scenes, strict=True)]
    else:
        images = [kind(scene).display(signal) for signal, scene in zip(signals, scenes, strict=True)]
    return signals, [image.astype(np.float32) for image in images]


def _box(shape: tuple[int, int], box: Box, grow: int) -> np.ndarray:
    """Pixels of a box (xmin, ymin, xmax, ymax), pixels, grown by `grow`."""
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    rows = slice(max(int(np.floor(y0)) - grow, 0), int(np.ceil(y1)) + grow)
    mask[rows, max(int(np.floor(x0)) - grow, 0) : int(np.ceil(x1)) + grow] = True
    return mask


def measure(renderer: str, part: str, seed: int, size: int) -> list[dict]:
    """One row per fracture of one positive study."""
    radiograph = draw_radiograph(renderer, np.random.default_rng(seed), part, True, size)
    scene = radiograph.scene
    intact = scene.without_fractures()
    (intact_signal, _), (intact_image, other_image) = _displays(radiograph, [intact, _reseeded(renderer, intact)])
    rows = []
    for fracture, box in zip(scene.fractures, scene.fracture_boxes(), strict=True):
        one = dataclasses.replace(scene, fractures=(fracture,))
        (signal, _), (image, intact_shown) = _displays(radiograph, [one, intact])
        inside = _box(signal.shape, box, 0)
        change = np.where(inside, np.abs(signal - intact_signal), 0.0)
        on_break = inside & (change >= 0.25 * change.max()) & (change > 0)
        pixels = int(on_break.sum())
        contrast = float(np.abs(image - intact_shown)[on_break].mean()) if pixels else 0.0
        noise = float(((intact_image - other_image) / np.sqrt(2.0))[_box(signal.shape, box, 6)].std())
        detectability = contrast / max(noise, 0.5) * np.sqrt(pixels) if pixels and contrast else 0.0
        rows.append({"renderer": renderer, "part": part, "kind": getattr(fracture, "kind", "gap"),
                     "joint_near": getattr(fracture, "joint_near", None), "contrast": contrast, "noise": noise,
                     "pixels": pixels, "rose": detectability, "grey": float(intact_shown[on_break].mean()) if pixels else 0.0})
    return rows


def _line(label: str, rows: list[dict]) -> str:
    rose = np.array([row["rose"] for row in rows])
    contrast = np.array([row["contrast"] for row in rows])
    noise = np.array([row["noise"] for row in rows])
    pixels = np.array([row["pixels"] for row in rows])
    return (f"| {label} | {len(rows)} | {np.median(contrast):.1f} / {np.percentile(contrast, 10):.1f} | {np.median(noise):.1f} | "
            f"{np.median(pixels):.0f} | {np.median(rose):.1f} / {np.percentile(rose, 10):.1f} | {np.mean(rose < FLOOR):.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderers", nargs="+", default=["tubes", "outlines"])
    parser.add_argument("--studies", type=int, default=12, help="positive studies per body part")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = [row for renderer in args.renderers for part in PARTS for seed in range(args.studies)
            for row in measure(renderer, part, seed, args.size)]
    cpu = f"{cpu_description()}, Python {platform.python_version()}"
    print(f"# {args.studies} positive studies per body part at {args.size} px; {cpu}")
    print("| group | fractures | contrast, grey: median / p10 | noise, grey | break pixels | Rose: median / p10 | below 5 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[f"{row['renderer']} (all)"].append(row)
        groups[f"{row['renderer']} {row['kind']}"].append(row)
        if row["joint_near"] is not None:
            groups[f"{row['renderer']} {'joint-near' if row['joint_near'] else 'shaft'}"].append(row)
        groups[f"{row['renderer']} {row['part'].lower()}"].append(row)
    for label, members in groups.items():
        print(_line(label, members))
    print(f"# {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
