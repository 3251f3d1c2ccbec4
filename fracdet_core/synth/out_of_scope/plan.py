"""Where the out-of-scope images of a synthetic dataset go and what each one is.

Image `index` of a split is of kind `kinds.kind_of(index)`, so any count spreads evenly over the
kinds, and is drawn from its own seed, which no in-scope image shares: adding out-of-scope
images changes no in-scope byte. Layout (docs/data-and-ingest.md):
`out_of_scope/<split folder>/<KIND>/oos_<split>_<index>.<format>`, named in `data.yaml` under
`fracdet_out_of_scope`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core import storage
from fracdet_core.ingest.spec import OUT_OF_SCOPE_KEY as DATA_YAML_KEY
from fracdet_core.synth.out_of_scope.kinds import OUT_OF_SCOPE_FOLDER, kind_of

__all__ = ["DATA_YAML_KEY", "OutOfScopePlan", "plan_out_of_scope", "split_folder_uri"]
_STREAM = 0x00F5C0  # keeps these seeds apart from the in-scope images' (seed, split, index)


@dataclasses.dataclass(frozen=True)
class OutOfScopePlan:
    """One out-of-scope image: its split, index, kind and seed."""

    split: str
    index: int
    kind: str
    seed: int

    @property
    def stem(self) -> str:
        return f"oos_{self.split}_{self.index:06d}"

    def uri(self, out: str, split_folder: str, image_format: str) -> str:
        return storage.join(out, OUT_OF_SCOPE_FOLDER, split_folder, self.kind, f"{self.stem}.{image_format}")


def plan_out_of_scope(seed: int, split_code: int, split: str, index: int) -> OutOfScopePlan:
    """Image `index` of `split` (whose code is `split_code`), independent of every other image."""
    sequence = np.random.SeedSequence([seed, split_code, index, _STREAM])
    image_seed = int(np.random.default_rng(sequence).integers(0, 2**63 - 1))
    return OutOfScopePlan(split, index, kind_of(index), image_seed)


def split_folder_uri(split_folder: str) -> str:
    """The folder of a split's out-of-scope images, relative to the dataset root, as `data.yaml` names it."""
    return f"{OUT_OF_SCOPE_FOLDER}/{split_folder}"
