"""Which model `fracdet predict` runs: a registry reference or a plain model URI, resolved to its SavedModel."""

from __future__ import annotations

import dataclasses

from fracdet_core.registry.interface import RegistryVersion
from fracdet_core.registry.refs import is_registry_reference, locate
from fracdet_core.serving.saved_model import saved_model_location


@dataclasses.dataclass(frozen=True)
class PredictModel:
    """Attributes:
        reference: what the user named.
        location: the SavedModel folder (holds `saved_model.pb`).
        version: the registry version, when the reference named one.
    """

    reference: str
    location: str
    version: RegistryVersion | None


def find_model(reference: str) -> PredictModel:
    """Resolve `reference` (`[registry://]<root>/<name>@<alias|N>`, `models:/<name>@<alias>`, a train output, or a
    SavedModel folder).

    Raises:
        ConfigError: a malformed `registry://` or `models:/` reference.
        NotFoundError: no such version or alias, or no SavedModel at the URI.
    """
    version = locate(reference) if is_registry_reference(reference) else None
    location = saved_model_location(version.saved_model_uri if version else reference)
    return PredictModel(reference, location, version)
