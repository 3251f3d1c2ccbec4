"""One door to storage for every stage: local paths and `gs://bucket/prefix` URIs alike.

Every stage reads and writes through these functions so that a local run and a cluster run
differ only in the URIs they are given. Writes are atomic: an object becomes visible whole or
not at all. Locally that is a temporary file in the target folder and a rename; on Google Cloud
Storage a single upload is already atomic, and create-only writes add the precondition
`if_generation_match=0`, so of several racing writers exactly one succeeds.

Errors a user can fix (missing bucket or object, denied access, an existing target of a
create-only write) become `fracdet_core.errors` exceptions naming the URI. Transient GCS faults
are retried by one policy, `retries`, which every GCS request goes through; when they outlast it,
`StorageUnavailableError` names the operation, the URI and the last status.

The modules: `paths` (naming and comparing locations), `files` (single files and objects),
`listing` (the files under a folder), `folders` (folders published whole), the two backends
they call, `local` and `gcs`, and `retries` (the retry policy of every GCS request).
"""

from fracdet_core.storage.files import (
    MISSING,
    exists,
    open_read,
    open_write,
    read_bytes,
    read_text,
    read_versioned,
    remove,
    remove_temporaries,
    write_bytes,
    write_if_unchanged,
    write_text,
)
from fracdet_core.storage.folders import recover_folder, remove_folder, replace_folder, staging_folder
from fracdet_core.storage.listing import FileVersion, copy_file, copy_tree, list_file_versions, list_files, tree_sha256
from fracdet_core.storage.paths import GCS_SCHEME, is_gcs, join, normalize, overlap, parent, split_gcs

__all__ = [
    "GCS_SCHEME",
    "MISSING",
    "FileVersion",
    "copy_file",
    "copy_tree",
    "exists",
    "is_gcs",
    "join",
    "list_file_versions",
    "list_files",
    "normalize",
    "open_read",
    "open_write",
    "overlap",
    "parent",
    "read_bytes",
    "read_text",
    "read_versioned",
    "recover_folder",
    "remove",
    "remove_folder",
    "remove_temporaries",
    "replace_folder",
    "split_gcs",
    "staging_folder",
    "tree_sha256",
    "write_bytes",
    "write_if_unchanged",
    "write_text",
]
