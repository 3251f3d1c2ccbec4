"""The bone layouts of the five body parts, each the view a radiographer takes of it.

Each layout is a function of a random generator that returns a `Skeleton` in canonical
coordinates (unit = the image's shorter side, the image's centre at (0.5, 0.5)), with sizes,
angles and shapes varied within anatomical range.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fracdet_core.synth.outlines.anatomy.elbow import elbow
from fracdet_core.synth.outlines.anatomy.finger import finger
from fracdet_core.synth.outlines.anatomy.forearm import forearm
from fracdet_core.synth.outlines.anatomy.hand import hand
from fracdet_core.synth.outlines.anatomy.shoulder import shoulder
from fracdet_core.synth.outlines.skeleton import Skeleton

LAYOUTS: dict[str, Callable[[np.random.Generator], Skeleton]] = {
    "ELBOW": elbow,
    "FINGER": finger,
    "FOREARM": forearm,
    "HAND": hand,
    "SHOULDER": shoulder,
}
