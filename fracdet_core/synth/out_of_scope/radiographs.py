"""Out-of-scope radiographs: other anatomy on the in-scope films' plate, through the tubes renderer.

Placement is drawn as the tubes renderer draws its own (mirror, scale, a small tilt, a shift),
a little wider in scale and turn, and the exposure, collimation, marker, noise and display are
the tubes renderer's own (`scene.sample_acquisition`, `render`): the model cannot tell these films
from in-scope ones by anything but the bones.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.out_of_scope.anatomy import LAYOUTS
from fracdet_core.synth.out_of_scope.frame import frame_size
from fracdet_core.synth.out_of_scope.kinds import DICOM_TAGS
from fracdet_core.synth.primitives import Similarity
from fracdet_core.synth.scene import Scene, sample_acquisition
from fracdet_core.synth.tubes import TubesRadiograph

_LONG_LIMBS = ("KNEE", "ANKLE_FOOT", "TIBIA_FIBULA")


def draw_radiograph(rng: np.random.Generator, kind: str, size: int) -> TubesRadiograph:
    """A film of `kind` (a key of `anatomy.LAYOUTS`) whose longer side is `size` pixels.

    Its `body_part` is the kind's DICOM BodyPartExamined term (`kinds.DICOM_TAGS`), which a
    DICOM copy of the film carries.
    """
    width, height = frame_size(rng, size)
    short_side = min(width, height)
    mirror = bool(rng.random() < 0.5)
    turn = np.pi / 2 * rng.choice([-1.0, 1.0]) if kind in _LONG_LIMBS and rng.random() < 0.15 else 0.0
    transform = Similarity(
        scale=short_side * rng.uniform(0.82, 1.15),
        angle=turn + np.radians(rng.normal(0.0, 7.0)),
        center_from=(0.5, 0.5),
        center_to=(width / 2 + rng.uniform(-0.06, 0.06) * width, height / 2 + rng.uniform(-0.06, 0.06) * height),
        mirror=mirror,
    )
    anatomy = LAYOUTS[kind](rng).transformed(transform)
    acquisition = sample_acquisition(rng, width, height, "R" if mirror else "L")
    return TubesRadiograph(Scene(DICOM_TAGS[kind][1], width, height, anatomy, (), acquisition))
