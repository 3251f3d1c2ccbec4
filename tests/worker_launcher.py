"""Runs `fracdet` as a pod of fracdet's TrainingRuntime would, on this machine: for the multi-worker tests.

Such a pod reaches the others by their JobSet host names, which only the cluster's DNS resolves,
and gRPC resolves them itself. So this builds TF_CONFIG from the pod's environment with the real
`tf_config_from_environment`, swaps each address for a local one, and runs the real `fracdet`
main with the rest of the arguments, which then takes that TF_CONFIG as given:

    python tests/worker_launcher.py '{"ADDRESS": "localhost:PORT", ...}' train-worker --data ... --out ...

An address the map does not hold ends the process before training, naming it: the map is written
from JobSet's naming by the test, so the built addresses are checked too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from fracdet import main
from fracdet_components.worker_cluster import tf_config_from_environment


def local_tf_config(environ: Mapping[str, str], local_addresses: Mapping[str, str]) -> str:
    """The TF_CONFIG built from `environ`, each address replaced by its entry in `local_addresses`."""
    tf_config = json.loads(tf_config_from_environment(environ))
    unmapped = [address for tasks in tf_config["cluster"].values() for address in tasks if address not in local_addresses]
    if unmapped:
        raise SystemExit(f"worker_launcher: no local address for {unmapped}; the map holds {sorted(local_addresses)}")
    tf_config["cluster"] = {job: [local_addresses[address] for address in tasks] for job, tasks in tf_config["cluster"].items()}
    return json.dumps(tf_config)


if __name__ == "__main__":
    os.environ["TF_CONFIG"] = local_tf_config(os.environ, json.loads(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
