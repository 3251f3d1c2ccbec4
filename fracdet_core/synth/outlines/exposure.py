"""How one outlines study is exposed, read out and processed: everything random about the film but the body.

The model is a computed-radiography (CR) plate: an exposure with the anode heel's gradient, a
tilted collimated field with soft edges, a lead side marker placed by hand, phosphor blur with a
long tail, scatter, quantum noise correlated by the plate and the scanner's line banding, then
the reader's processing (dynamic range compression, unsharp masking) and a sigmoid display curve
chosen from the image's own histogram, as CR readers do.
"""

from __future__ import annotations

import dataclasses

import numpy as np

LABEL_REACH = 0.1  # of the image's shorter side: how far the burnt-in text reaches from its centre

@dataclasses.dataclass(frozen=True)
class Field:
    """The collimated field: a rectangle turned by `angle`, and how soft its edges are.

    Attributes:
        centre: (x, y), pixels.
        half_size: (half width, half height) before turning, pixels.
        angle: radians.
        penumbra: how soft the edges are, pixels.
        leak: share of the beam that reaches the plate outside the field (scatter, leakage).
        shutter: whether the reader blackens everything outside the field on display.
    """

    centre: tuple[float, float]
    half_size: tuple[float, float]
    angle: float
    penumbra: float
    leak: float
    shutter: bool


@dataclasses.dataclass(frozen=True)
class Marker:
    """The lead side marker: a letter in a ring, turned as it was laid on the cassette."""

    letter: str
    centre: tuple[float, float]
    size: float  # ring diameter, pixels
    angle: float  # degrees


@dataclasses.dataclass(frozen=True)
class Exposure:
    """Exposure, plate and reader settings of one study.

    Attributes:
        photons: mean quanta per pixel behind nothing (sets the quantum noise).
        heel: relative exposure change across the image along `heel_angle` (anode heel effect).
        heel_angle: radians.
        scatter: share of the quanta the body takes out of the beam that reach the plate as scatter.
        psf_core, psf_tail: sigmas (pixels at 512 px) of the phosphor's point spread: a sharp
            core and a long tail holding `psf_tail_share` of the light.
        psf_tail_share: see above.
        banding: standard deviation of the scanner's row-to-row gain, relative.
        mottle: standard deviation of the plate's low-frequency gain variation, relative.
        compression: how much of the low-frequency signal the reader subtracts (0 = none).
        sharpening: unsharp-mask gain (0 = none); `sharpening_sigma` its radius, pixels at 512 px.
        sharpening_sigma: see above.
        lut_centre, lut_width: the sigmoid display curve's place and spread, as shares of the
            exposed signal's range (1st to 99.8th percentile).
        field: the collimated field.
        marker: the side marker.
        label: text burnt in by the reader (the view), and its (x, y) position, pixels.
        noise_seed: seed of every noise field and texture, so renders of the same study match.
    """

    photons: float
    heel: float
    heel_angle: float
    scatter: float
    psf_core: float
    psf_tail: float
    psf_tail_share: float
    banding: float
    mottle: float
    compression: float
    sharpening: float
    sharpening_sigma: float
    lut_centre: float
    lut_width: float
    field: Field
    marker: Marker
    label: str
    label_position: tuple[float, float]
    noise_seed: int

    def clear(self, points: np.ndarray, margin: float, short_side: int) -> np.ndarray:
        """Whether each of (N, 2) points (x, y, pixels) shows on the film: `margin` inside the field, off the marker and text.

        `short_side` is the image's shorter side in pixels (the burnt-in text's size is a share of it).

        Outside the field the plate is nearly unexposed and the display saturates; the marker's
        lead and the burnt-in text hide what lies under them.
        """
        field = self.field
        dx, dy = points[:, 0] - field.centre[0], points[:, 1] - field.centre[1]
        cos, sin = np.cos(field.angle), np.sin(field.angle)
        u, v = cos * dx + sin * dy, -sin * dx + cos * dy
        inside = (np.abs(u) <= field.half_size[0] - margin) & (np.abs(v) <= field.half_size[1] - margin)
        off_marker = np.hypot(*(points - self.marker.centre).T) > self.marker.size + margin
        off_label = not self.label or np.hypot(*(points - self.label_position).T) > LABEL_REACH * short_side + margin
        return inside & off_marker & off_label


def sample_exposure(rng: np.random.Generator, width: int, height: int, letter: str, view: str) -> Exposure:
    """Draw the film, the plate and the reader's settings for a `width` x `height` image."""
    short = min(width, height)
    field = _sample_field(rng, width, height)
    marker_size = rng.uniform(0.05, 0.075) * short
    marker_corner, label_corner = rng.permutation(4)[:2]
    marker = Marker(letter, _corner_point(rng, field, marker_size, marker_corner), marker_size, float(rng.uniform(-25.0, 25.0)))
    label_position = _corner_point(rng, field, 0.06 * short, label_corner)
    return Exposure(
        photons=float(np.exp(rng.uniform(np.log(600.0), np.log(6000.0)))),
        heel=float(rng.uniform(0.0, 0.18)),
        heel_angle=float(rng.uniform(0.0, 2 * np.pi)),
        scatter=float(rng.uniform(0.05, 0.25)),
        psf_core=float(rng.uniform(0.4, 0.7)),
        psf_tail=float(rng.uniform(2.0, 3.5)),
        psf_tail_share=float(rng.uniform(0.03, 0.08)),
        banding=float(rng.uniform(0.0, 0.012)),
        mottle=float(rng.uniform(0.003, 0.015)),
        compression=float(rng.uniform(0.2, 0.55)) if rng.random() < 0.5 else 0.0,
        sharpening=float(rng.uniform(0.3, 1.0)) if rng.random() < 0.65 else 0.0,
        sharpening_sigma=float(rng.uniform(1.5, 4.0)),
        lut_centre=float(rng.uniform(0.3, 0.42)),
        lut_width=float(rng.uniform(0.75, 1.0)),
        field=field,
        marker=marker,
        label=view if rng.random() < 0.55 else "",
        label_position=label_position,
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _sample_field(rng: np.random.Generator, width: int, height: int) -> Field:
    """A field a little inside the image (or the whole plate), often turned by a few degrees."""
    if rng.random() < 0.25:
        return Field((width / 2, height / 2), (width / 2, height / 2), 0.0, 1.0, 1.0, False)
    insets = rng.uniform(0.03, 0.12, size=4) * np.array([width, height, width, height])
    x0, y0, x1, y1 = insets[0], insets[1], width - insets[2], height - insets[3]
    return Field(
        centre=((x0 + x1) / 2, (y0 + y1) / 2),
        half_size=((x1 - x0) / 2, (y1 - y0) / 2),
        angle=float(np.radians(rng.normal(0.0, 2.5))),
        penumbra=float(rng.uniform(1.0, 3.5)),
        leak=float(np.exp(rng.uniform(np.log(0.03), np.log(0.3)))),
        shutter=bool(rng.random() < 0.4),
    )


def _corner_point(rng: np.random.Generator, field: Field, size: float, corner: int) -> tuple[float, float]:
    """A point near corner `corner` (0-3) of the field, `size` inside its edges."""
    sx, sy = (-1.0 if corner % 2 == 0 else 1.0), (-1.0 if corner < 2 else 1.0)
    half_w, half_h = field.half_size
    local = np.array([sx * (half_w - size * rng.uniform(0.9, 1.6)), sy * (half_h - size * rng.uniform(0.9, 1.6))])
    cos, sin = np.cos(field.angle), np.sin(field.angle)
    x = field.centre[0] + cos * local[0] - sin * local[1]
    y = field.centre[1] + sin * local[0] + cos * local[1]
    return float(x), float(y)
