"""From outlines to attenuation: how much bone and soft tissue each ray crosses.

A bone's thickness comes from its outline alone: the distance d of a pixel from the outline, and
the local half-width R (the largest such distance in the pixel's slice across the bone), give the
chord of an elliptic cross section, depth x 2 sqrt(d (2R - d)), whose depth stops growing where
an end flares. The cortex is a shell whose thickness is a share of R, thick at mid-shaft and
thinning towards the ends, where cancellous bone takes over; the cancellous bone carries a
trabecular grain that runs along the bone in the shaft and turns into a lattice at the ends.
Bones are drawn one by one and their attenuations add, so bones that overlap at a joint show
denser where they overlap. Fractures act on their bone's own layer before it is added.

Soft tissue is the smoothed union of the limb's outlines, its thickness again a chord of its
distance map, with a subcutaneous fat shell, fat planes and pads that attenuate less, and air
(the lung) that attenuates much less. Values are attenuation (natural-log units) per pixel of a
512-pixel image (`shapes.REFERENCE_SIZE`); `attenuation_scale` makes them independent of resolution.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from fracdet_core.synth.outlines.fractures import Bulge, Fracture
from fracdet_core.synth.outlines.scene import OutlineScene
from fracdet_core.synth.outlines.shapes import Window, pixel_scale, rasterize, upsample, window_of
from fracdet_core.synth.outlines.skeleton import Bone, SoftTissue

_MU_CORTEX = 0.042
_MU_CANCELLOUS = 0.009
_GRAIN_CONTRAST = 0.4
_MU_MUSCLE = 0.008
_MU_FAT = 0.006
_AIR_KEPT = 0.45  # share of the soft tissue's attenuation left where the lung is
_SOFT_SATURATION = 0.5  # soft-tissue chords saturate at this share of the image's shorter side
_GRAIN_TILE = 128
_MARROW_SHARE = 0.4  # cancellous attenuation in the marrow cavity of a shaft, relative to the ends'
_OVERLAY_DEPTH = 0.5  # an overlay (a condyle seen through the bone) is that much thinner than it is wide
_FLARE_DEPTH = 1.4
_SLICES = 96  # slices along a long bone in which its half-width is measured


def attenuation_scale(scene: OutlineScene) -> float:
    """What turns a path in this image's pixels into attenuation, with the coefficients given per 512-px pixel."""
    return 1.0 / pixel_scale(scene.width, scene.height)


def bone_attenuation(scene: OutlineScene, fractures: tuple[Fracture, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(with the fractures, without them): summed bone attenuation, float32 (height, width) each."""
    fractures = scene.fractures if fractures is None else fractures
    shape = (scene.height, scene.width)
    grains = _grain_tiles(scene.exposure.noise_seed)
    texture_scale = 1.0 / pixel_scale(scene.width, scene.height)
    broken = np.zeros(shape, np.float32)
    intact = np.zeros(shape, np.float32)
    for index, bone in enumerate(scene.skeleton.bones):
        own = tuple(fracture for fracture in fractures if fracture.bone_index == index)
        layer = _bone_layer(bone, index, own, shape, grains, texture_scale)
        if layer is None:
            continue
        window, whole, fractured = layer
        intact[window] += whole
        broken[window] += fractured
    return broken, intact


def _bone_layer(
    bone: Bone, index: int, fractures: tuple[Fracture, ...], shape: tuple[int, int],
    grains: tuple[np.ndarray, np.ndarray], texture_scale: float,
) -> tuple[Window, np.ndarray, np.ndarray] | None:
    """One bone's attenuation in its window of the image, whole and with its fractures applied."""
    reach = max((float(np.hypot(*f.shift)) + abs(f.rotation) * 0.5 * max(shape) for f in fractures), default=0.0)
    window = window_of(bone.outline_points(), shape, margin=4.0 + reach)
    if window is None:
        return None
    rows, cols = window
    ys, xs = np.mgrid[rows, cols].astype(np.float32)
    centres = np.stack([xs + 0.5, ys + 0.5], axis=-1)
    positions = np.clip(bone.positions(centres.reshape(-1, 2)).reshape(xs.shape), 0.0, 1.0)
    shaft = _shaft_weight(positions) if bone.long else np.zeros_like(positions)
    masks = [rasterize(bone.parts, window), *(rasterize((overlay,), window) for overlay in bone.overlays)]
    grain = _grain(bone, index, centres, shaft, grains, texture_scale, np.logical_or.reduce([mask > 0 for mask in masks]))
    whole = _body(masks[0], bone, positions, shaft, grain)
    for mask in masks[1:]:
        whole += _OVERLAY_DEPTH * _body(mask, bone, positions, np.zeros_like(shaft), grain)
    for outline, kept in bone.hollows:
        whole *= 1.0 - (1.0 - kept) * ndimage.gaussian_filter(rasterize([outline], window), 1.5)
    whole *= bone.density
    fractured = whole
    for fracture in fractures:
        fractured = _break(fractured, fracture, window)
    return window, whole, fractured


def _body(mask: np.ndarray, bone: Bone, positions: np.ndarray, shaft: np.ndarray, grain: np.ndarray) -> np.ndarray:
    """Attenuation of one solid silhouette (a 0/1 mask): cortical shell plus grained cancellous core."""
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    # Distance from the outline, smoothed across it so that the raster's stairs do not show.
    inside = np.where(mask > 0, ndimage.distance_transform_edt(mask) - 0.5, -0.5).astype(np.float32)
    distance = np.clip(ndimage.gaussian_filter(inside, 0.7), 0.0, None)
    half_width, typical = _half_widths(distance, positions, bone.long)
    # Ends flare in the picture's plane more than in depth: the section's depth stops growing at
    # `_FLARE_DEPTH` times the bone's typical half-width.
    flattening = np.minimum(half_width, _FLARE_DEPTH * typical) / half_width
    cortex = half_width * bone.cortex * (0.3 + 0.7 * shaft)
    outer = flattening * _chord(distance, half_width)
    inner = flattening * _chord(distance - cortex, half_width - cortex)
    # The marrow cavity of a shaft holds little trabecular bone; the metaphyses and epiphyses much.
    cancellous = inner * (1.0 - (1.0 - _MARROW_SHARE) * shaft) * np.clip(1.0 + _GRAIN_CONTRAST * grain, 0.0, None)
    return (bone.depth * (_MU_CORTEX * (outer - inner) + _MU_CANCELLOUS * cancellous)).astype(np.float32)


def _half_widths(distance: np.ndarray, positions: np.ndarray, long: bool) -> tuple[np.ndarray, float]:
    """The local half-width at each pixel, and the bone's typical (shaft) half-width.

    A long bone's half-width at a position along it is the largest distance from the outline
    there (its slice's medial point); a compact bone has one half-width, its largest distance.
    """
    if not long:
        widest = max(float(distance.max()), 0.5)
        return np.full(distance.shape, widest, np.float32), widest
    count = _SLICES
    slices = np.minimum((positions * count).astype(int), count - 1)
    widths = np.asarray(ndimage.maximum(distance, labels=slices + 1, index=np.arange(1, count + 1)), np.float32)
    widths = np.maximum(ndimage.maximum_filter1d(widths, 3), 0.5)
    present = widths[np.bincount(slices.ravel(), weights=(distance > 0).ravel(), minlength=count) > 0]
    return widths[slices], float(np.percentile(present, 25)) if present.size else 0.5


def _chord(distance: np.ndarray, half_width: np.ndarray) -> np.ndarray:
    """Length of the chord through an ellipse-sectioned body at `distance` inside its edge."""
    return 2.0 * np.sqrt(np.clip(distance * (2.0 * half_width - distance), 0.0, None))


def _shaft_weight(positions: np.ndarray) -> np.ndarray:
    """1 along the diaphysis, falling to 0 over the metaphyses towards each end."""
    from_end = np.minimum(positions, 1.0 - positions)
    t = np.clip((from_end - 0.06) / 0.2, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _grain_tiles(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two periodic textures: streaks along the tile's x (the shaft's grain) and a lattice (the ends')."""
    rng = np.random.default_rng([seed, 1])
    white = rng.standard_normal((2, _GRAIN_TILE, _GRAIN_TILE)).astype(np.float32)
    streaks = _band(white[0], (0.7, 2.8), (2.2, 6.0))  # rows across the grain, columns along it
    band = _band(white[1], 1.1, 2.4)
    lattice = np.abs(band) - np.abs(band).mean()
    return streaks / streaks.std(), lattice / lattice.std()


def _band(white: np.ndarray, fine: float | tuple[float, float], coarse: float | tuple[float, float]) -> np.ndarray:
    """Periodic band-pass noise: a difference of Gaussians."""
    return ndimage.gaussian_filter(white, fine, mode="wrap") - ndimage.gaussian_filter(white, coarse, mode="wrap")


def _grain(bone: Bone, index: int, centres: np.ndarray, shaft: np.ndarray, tiles: tuple[np.ndarray, np.ndarray],
           texture_scale: float, where: np.ndarray) -> np.ndarray:
    """The grain at each pixel where `where` holds (0 elsewhere), in the bone's own frame so that it follows the bone."""
    along = bone.direction()
    relative = (centres[where] - bone.axis[0]) * texture_scale
    coordinates = np.stack([relative @ np.array([-along[1], along[0]]) + 71.0 * index, relative @ along + 37.0 * index])
    streaks = ndimage.map_coordinates(tiles[0], coordinates, order=1, mode="grid-wrap")
    lattice = ndimage.map_coordinates(tiles[1], coordinates, order=1, mode="grid-wrap")
    grain = np.zeros(where.shape, np.float32)
    grain[where] = shaft[where] * streaks + (1.0 - shaft[where]) * lattice
    return grain


# --- fractures -------------------------------------------------------------------------------


def _break(layer: np.ndarray, fracture: Fracture, window: Window) -> np.ndarray:
    """The layer with one fracture drawn into it."""
    if fracture.gap > 0 and fracture.depth != 0.0:
        line = rasterize([fracture.line], window, width=fracture.gap, closed=False)
        if fracture.depth < 0:  # a sclerotic band: compressed trabeculae
            layer = layer * (1.0 - fracture.depth * ndimage.gaussian_filter(line, 0.8))
        else:
            layer = layer * (1.0 - fracture.depth * line)
    if fracture.fragment is not None:
        region = rasterize([fracture.fragment], window)
        piece = layer * region
        layer = layer - piece + _move(piece, fracture, window)
    for bulge in fracture.bulges:
        layer = layer + _bulge(bulge, window, fracture.half_width)
    return layer


def _move(piece: np.ndarray, fracture: Fracture, window: Window) -> np.ndarray:
    """The piece turned about the fracture's pivot and shifted, resampled on the window's pixels."""
    rows, cols = window
    origin = np.array([rows.start + 0.5, cols.start + 0.5])
    pivot = np.array([fracture.pivot[1], fracture.pivot[0]]) - origin  # (row, column)
    shift = np.array([fracture.shift[1], fracture.shift[0]])
    cos, sin = np.cos(fracture.rotation), np.sin(fracture.rotation)
    matrix = np.array([[cos, -sin], [sin, cos]])
    offset = pivot - matrix @ (pivot + shift)
    return ndimage.affine_transform(piece, matrix, offset=offset, order=1, mode="constant", cval=0.0)


def _bulge(bulge: Bulge, window: Window, half_width: float) -> np.ndarray:
    """A torus fracture's cortical bulge: a ridge of cortex just outside the bone's edge, `length` either side."""
    rows, cols = window
    ys, xs = np.mgrid[rows, cols].astype(np.float32)
    offset = np.stack([xs + 0.5, ys + 0.5], axis=-1) - (bulge.centre + bulge.outward * bulge.height * 0.5)
    a = offset @ bulge.along / bulge.length
    b = offset @ bulge.outward / max(bulge.height, 1.0)
    peak = _MU_CORTEX * min(4.0 * bulge.height, half_width)  # a chord through a ridge that high
    return (peak * np.clip(1.0 - a * a, 0.0, None) ** 2 * np.clip(1.0 - b * b, 0.0, None) ** 2).astype(np.float32)


# --- soft tissue -------------------------------------------------------------------------------


def soft_tissue_attenuation(scene: OutlineScene) -> np.ndarray:
    """Soft-tissue attenuation, float32 (height, width); worked out at half resolution, where it is smooth."""
    height, width = scene.height, scene.width
    soft = scene.skeleton.soft_tissue
    low_shape = ((height + 1) // 2, (width + 1) // 2)
    low_window = (slice(0, low_shape[0]), slice(0, low_shape[1]))
    half = _halved(soft)
    silhouette = ndimage.gaussian_filter(rasterize(half.outlines, low_window), 2.5) > 0.5
    if not silhouette.any():
        return np.zeros((height, width), np.float32)
    distance = ndimage.distance_transform_edt(silhouette).astype(np.float32)
    half_width = np.maximum(ndimage.maximum_filter(distance, size=2 * int(np.ceil(distance.max())) + 1), 0.5)
    fat = soft.fat_share * half_width
    saturation = _SOFT_SATURATION * min(low_shape)
    whole = saturation * np.tanh(soft.depth * _chord(distance, half_width) / saturation)
    muscle = np.minimum(soft.depth * _chord(distance - fat, half_width - fat), whole)
    low = 2.0 * (_MU_FAT * (whole - muscle) + _MU_MUSCLE * muscle)  # x 2: half-resolution pixels
    if half.fat_pads:
        low -= 2.0 * (_MU_MUSCLE - _MU_FAT) * 0.5 * muscle * ndimage.gaussian_filter(rasterize(half.fat_pads, low_window), 1.0)
    if half.air:
        low *= 1.0 - (1.0 - _AIR_KEPT) * ndimage.gaussian_filter(rasterize(half.air, low_window), 6.0)
    full = upsample(low, (height, width))
    if soft.fat_planes:
        lines = rasterize(soft.fat_planes, (slice(0, height), slice(0, width)), width=2, closed=False)
        planes = ndimage.gaussian_filter(lines, 1.0)
        full = full * (1.0 - 0.06 * planes)
    return full.astype(np.float32)


def _halved(soft: SoftTissue) -> SoftTissue:
    return SoftTissue(
        outlines=tuple(outline / 2 for outline in soft.outlines),
        depth=soft.depth,
        fat_share=soft.fat_share,
        fat_pads=tuple(pad / 2 for pad in soft.fat_pads),
        air=tuple(region / 2 for region in soft.air),
    )
