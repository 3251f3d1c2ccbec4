"""How conspicuous a fracture is on the final 8-bit image, and the floor every labelled fracture clears.

A fracture no reader could see is not a labelled fracture in any real dataset, so the outlines
renderer keeps its breaks subtle but never below a floor. Conspicuity is measured where a reader
sees it, on the display image after the reader's processing and the sigmoid curve:

- contrast: the mean absolute grey difference, fractured minus intact (the same scene, the same
  noise), over the break's pixels: those inside the fracture's box where the presented signal
  changes by at least a quarter of its largest change there;
- noise: the standard deviation, over the box grown by `_NOISE_REACH` pixels, of the difference
  between the intact image and the intact image drawn with another noise seed, divided by sqrt 2
  (quantum noise, banding, mottle and the trabecular grain, after the reader's gain at that place);
- detectability: contrast / noise x sqrt(pixels), the Rose model for a line or area of that many
  pixels (A. Rose, "The sensitivity performance of the human eye on an absolute scale", JOSA 38,
  1948): an ideal observer who knows where to look needs about 5.

`FLOOR` is that 5. `sample_visible_scene` draws a study whose every fracture clears it: a break
below the floor is first deepened (a lucent line that removes more of the bone, a denser band;
never wider, never displaced further), and if it still does not clear at its deepest, it is not
drawn and the study's fractures are drawn again at other sites.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.outlines.detector import display_window, present, raw_signal, to_display
from fracdet_core.synth.outlines.fractures import Fracture, sample_fractures
from fracdet_core.synth.outlines.scene import OutlineScene, film_shows, sample_scene

FLOOR = 5.0  # Rose detectability every labelled fracture clears on the display image
_BREAK_SHARE = 0.25  # a break pixel: the signal changes there by at least this share of the largest change in the box
_NOISE_REACH = 6  # pixels around the box over which the local noise is measured
_DEEPEST = {"lucent": 1.0, "sclerotic": -0.5}  # a line removes all the bone at most; a band adds half at most
_DEPTH_STEPS = 3  # deepenings tried between a break's drawn depth and its deepest
_REDRAWS = 6  # times a study's fractures are drawn again before it keeps those that clear


@dataclasses.dataclass(frozen=True)
class Conspicuity:
    """One fracture on the display image: grey levels (0-255) and pixels."""

    contrast: float
    noise: float
    pixels: int

    @property
    def detectability(self) -> float:
        """The Rose figure: contrast / noise x sqrt(pixels); 0 for a break with no pixels or no contrast."""
        if self.pixels == 0 or self.contrast == 0.0:
            return 0.0
        return self.contrast / max(self.noise, 0.5) * float(np.sqrt(self.pixels))


class _Views:
    """A scene's intact display image and its noise, worked out once and shared by each fracture's measurement."""

    def __init__(self, scene: OutlineScene) -> None:
        self.scene = scene
        intact = scene.without_fractures()
        self.signal = present(raw_signal(intact), intact)
        self.window = display_window(self.signal, intact)
        self.intact = to_display(self.signal, intact, self.window).astype(np.float32)
        exposure = dataclasses.replace(intact.exposure, noise_seed=intact.exposure.noise_seed + 1)
        reseeded = dataclasses.replace(intact, exposure=exposure)
        other = to_display(present(raw_signal(reseeded), reseeded), reseeded, self.window).astype(np.float32)
        self.noise_field = (self.intact - other) / np.sqrt(2.0)

    def measure(self, fracture: Fracture) -> Conspicuity:
        scene = dataclasses.replace(self.scene, fractures=(fracture,))
        signal = present(raw_signal(scene), scene)
        # The intact image's window: the break's own grey change, not a shift of the whole curve.
        broken = to_display(signal, scene, self.window).astype(np.float32)
        box = _box_mask(signal.shape, scene.fracture_boxes()[0], 0)
        change = np.where(box, np.abs(signal - self.signal), 0.0)
        on_break = box & (change >= _BREAK_SHARE * change.max()) & (change > 0)
        if not on_break.any():
            return Conspicuity(0.0, 0.0, 0)
        contrast = float(np.abs(broken - self.intact)[on_break].mean())
        noise = float(self.noise_field[_box_mask(change.shape, scene.fracture_boxes()[0], _NOISE_REACH)].std())
        return Conspicuity(contrast, noise, int(on_break.sum()))


def conspicuity(scene: OutlineScene) -> list[Conspicuity]:
    """Each of the scene's fractures, measured alone on the display image."""
    views = _Views(scene)
    return [views.measure(fracture) for fracture in scene.fractures]


def sample_visible_scene(rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> OutlineScene:
    """`scene.sample_scene`, with every fracture clearing `FLOOR` on the display image."""
    scene = sample_scene(rng, body_part, fractured, size)
    if not scene.fractures:
        return scene
    views = _Views(scene)
    fractures = scene.fractures
    for _ in range(_REDRAWS):
        kept = tuple(visible for visible in (_deepened(views, fracture) for fracture in fractures) if visible is not None)
        if kept:
            return dataclasses.replace(scene, fractures=kept)
        fractures = sample_fractures(rng, scene.skeleton, scene.width, scene.height, film_shows(scene))
    # No site of this study shows a break above the floor (rare): another study altogether.
    return sample_visible_scene(rng, body_part, fractured, size)


def _deepened(views: _Views, fracture: Fracture) -> Fracture | None:
    """The fracture as drawn if it clears the floor, else the least deepened one that does, else None."""
    if views.measure(fracture).detectability >= FLOOR:
        return fracture
    if fracture.gap == 0 or fracture.depth == 0.0:
        return None
    deepest = _DEEPEST["lucent"] if fracture.depth > 0 else _DEEPEST["sclerotic"]
    if abs(fracture.depth) >= abs(deepest):
        return None
    for depth in np.linspace(fracture.depth, deepest, _DEPTH_STEPS + 1)[1:]:
        deeper = dataclasses.replace(fracture, depth=float(depth))
        if views.measure(deeper).detectability >= FLOOR:
            return deeper
    return None


def _box_mask(shape: tuple[int, int], box: tuple[float, float, float, float], grow: int) -> np.ndarray:
    """Pixels of a box (xmin, ymin, xmax, ymax), pixels, grown by `grow` pixels and clipped to `shape` (rows, columns)."""
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    rows = slice(max(int(np.floor(y0)) - grow, 0), int(np.ceil(y1)) + grow)
    mask[rows, max(int(np.floor(x0)) - grow, 0) : int(np.ceil(x1)) + grow] = True
    return mask

