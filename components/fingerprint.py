"""The fingerprint component: a hash of the data listing, so ingest's cache key changes with the data."""

from kfp import dsl

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def fingerprint(data_uri: str) -> str:
    """List the dataset behind `data_uri` (names, sizes, GCS MD5s or local modification times) and hash it.

    Args:
        data_uri: an Ultralytics data.yaml, or the folder or gs:// prefix holding one.

    Returns:
        The sha256 (hex) of data.yaml and the listing; ingest takes it as a parameter, so the
        cached ingest output is reused only while the data is unchanged.
    """
    from fracdet_core.ingest.fingerprint import data_fingerprint

    return data_fingerprint(data_uri)
