"""What a study contains before it is exposed: bones as outlines, soft tissue, joints, fracture sites.

Layouts (the `anatomy` package) build a `Skeleton` in canonical coordinates (unit = the image's
shorter side); `Skeleton.placed` maps every point to pixels, so the scene and the renderer only
ever see pixels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.outlines.shapes import Placement


@dataclasses.dataclass(frozen=True)
class Bone:
    """One bone in projection.

    Attributes:
        name: anatomical name, unique within the skeleton ("radius", "proximal phalanx 3").
        parts: closed outlines, (N, 2) each, whose union is the bone's silhouette (a shaft and
            its head, say).
        axis: (start, end) of the bone's long axis, (2, 2): orients the trabecular grain and
            measures positions along the bone (0 at start, 1 at end).
        depth: projected thickness through the middle as a share of the width (the aspect of
            the cross-section's ellipse; plates such as the scapula are thin).
        cortex: cortical thickness as a share of the local half-width, at mid-shaft for long bones.
        long: whether the cortex thickens towards mid-shaft (long bones) or is even (compact bones).
        density: attenuation multiplier; below 1 for bones seen through less bone (ribs).
        overlays: closed outlines of compact parts that project through the rest of the bone
            (one condyle seen through the other); their shadows add, and they move with the bone.
        hollows: closed outlines where the bone is thin (a fossa), and the share of it kept there.
        examined_span: the part of the axis the study examines, or None if the bone is not examined.
    """

    name: str
    parts: tuple[np.ndarray, ...]
    axis: np.ndarray
    depth: float = 0.85
    cortex: float = 0.3
    long: bool = True
    density: float = 1.0
    overlays: tuple[np.ndarray, ...] = ()
    hollows: tuple[tuple[np.ndarray, float], ...] = ()
    examined_span: tuple[float, float] | None = (0.0, 1.0)

    def placed(self, placement: Placement) -> Bone:
        return dataclasses.replace(
            self,
            parts=tuple(placement.points(part) for part in self.parts),
            axis=placement.points(self.axis),
            overlays=tuple(placement.points(outline) for outline in self.overlays),
            hollows=tuple((placement.points(outline), kept) for outline, kept in self.hollows),
        )

    def axis_point(self, s: float) -> np.ndarray:
        return self.axis[0] + s * (self.axis[1] - self.axis[0])

    def direction(self) -> np.ndarray:
        """Unit vector from the axis' start to its end."""
        vector = self.axis[1] - self.axis[0]
        return vector / np.linalg.norm(vector)

    def positions(self, points: np.ndarray) -> np.ndarray:
        """Position along the axis (0 at start, 1 at end, unclipped) of (N, 2) points."""
        vector = self.axis[1] - self.axis[0]
        return (points - self.axis[0]) @ vector / float(vector @ vector)

    def outline_points(self) -> np.ndarray:
        return np.concatenate(self.parts + self.overlays)


@dataclasses.dataclass(frozen=True)
class Joint:
    """Where bones articulate: the centre of the joint space and the bones that meet there."""

    name: str
    centre: np.ndarray  # (2,)
    bones: tuple[str, ...]

    def placed(self, placement: Placement) -> Joint:
        return dataclasses.replace(self, centre=placement.points(self.centre[None])[0])


@dataclasses.dataclass(frozen=True)
class FractureSite:
    """Where a fracture of this study may lie.

    Attributes:
        name: the site as a radiologist names it ("radial neck", "surgical neck of the humerus").
        bone: name of the bone it breaks.
        span: positions along the bone's axis where the break may lie.
        joint_near: whether the site is at or next to a joint, where bones overlap in projection.
        kinds: the fracture kinds this site allows (`fractures.KINDS`).
        fragment_end: which end's piece moves when the fracture displaces ("start" or "end"):
            the joint's side, usually.
    """

    name: str
    bone: str
    span: tuple[float, float]
    joint_near: bool
    kinds: tuple[str, ...]
    fragment_end: str = "end"


@dataclasses.dataclass(frozen=True)
class SoftTissue:
    """The limb around the bones.

    Attributes:
        outlines: closed outlines whose (smoothed) union is the limb's silhouette.
        depth: thickness through the middle as a share of the width (the cross-section's aspect).
        fat_share: subcutaneous fat as a share of the limb's local half-thickness.
        fat_planes: polylines (N, 2) of fat between muscles, seen as faint dark lines.
        fat_pads: closed outlines of fat pads (lucent patches beside a joint).
        air: closed outlines of air inside the body (the lung behind a shoulder).
    """

    outlines: tuple[np.ndarray, ...]
    depth: float = 1.0
    fat_share: float = 0.2
    fat_planes: tuple[np.ndarray, ...] = ()
    fat_pads: tuple[np.ndarray, ...] = ()
    air: tuple[np.ndarray, ...] = ()

    def placed(self, placement: Placement) -> SoftTissue:
        return SoftTissue(
            outlines=tuple(placement.points(outline) for outline in self.outlines),
            depth=self.depth,
            fat_share=self.fat_share,
            fat_planes=tuple(placement.points(line) for line in self.fat_planes),
            fat_pads=tuple(placement.points(pad) for pad in self.fat_pads),
            air=tuple(placement.points(region) for region in self.air),
        )


@dataclasses.dataclass(frozen=True)
class Skeleton:
    """Everything anatomical about one study."""

    view: str  # the projection, as a technologist labels it: "PA", "AP", "LAT", "OBL"
    bones: tuple[Bone, ...]
    joints: tuple[Joint, ...]
    soft_tissue: SoftTissue
    sites: tuple[FractureSite, ...]

    def placed(self, placement: Placement) -> Skeleton:
        return Skeleton(
            view=self.view,
            bones=tuple(bone.placed(placement) for bone in self.bones),
            joints=tuple(joint.placed(placement) for joint in self.joints),
            soft_tissue=self.soft_tissue.placed(placement),
            sites=self.sites,
        )

    def bone_index(self, name: str) -> int:
        return next(i for i, bone in enumerate(self.bones) if bone.name == name)
