"""A training worker's TF_CONFIG: a TFJob's passed through, a TrainJob pod's built from its JobSet variables.

The expected addresses are written out by hand from JobSet's naming: pod `i` of replicated job `node`, job 0,
of JobSet `fracdet-train-x7k2p` is `fracdet-train-x7k2p-node-0-i`, under the subdomain `fracdet-train-x7k2p`.
"""

from __future__ import annotations

import json

import pytest

from fracdet_components.worker_cluster import tf_config_from_environment
from fracdet_core.errors import ConfigError

POD_ENVIRONMENT = {"JOBSET_NAME": "fracdet-train-x7k2p", "REPLICATED_JOB_NAME": "node", "JOB_INDEX": "0",
                   "JOB_COMPLETION_INDEX": "2", "FRACDET_WORKERS": "3", "FRACDET_WORKER_PORT": "2222",
                   "HOSTNAME": "fracdet-train-x7k2p-node-0-2"}
TFJOB_TF_CONFIG = ('{"cluster":{"chief":["fracdet-train-chief-0.kubeflow-user.svc:2222"],'
                   '"worker":["fracdet-train-worker-0.kubeflow-user.svc:2222"]},'
                   '"task":{"type":"worker","index":0},"environment":"cloud"}')


def test_a_trainjob_pod_gets_every_workers_jobset_address_and_its_own_index():
    assert json.loads(tf_config_from_environment(POD_ENVIRONMENT)) == {
        "cluster": {"worker": ["fracdet-train-x7k2p-node-0-0.fracdet-train-x7k2p:2222",
                               "fracdet-train-x7k2p-node-0-1.fracdet-train-x7k2p:2222",
                               "fracdet-train-x7k2p-node-0-2.fracdet-train-x7k2p:2222"]},
        "task": {"type": "worker", "index": 2},
    }


def test_the_port_defaults_to_2222_and_another_job_index_and_port_are_followed():
    environment = {**POD_ENVIRONMENT, "JOB_INDEX": "1", "JOB_COMPLETION_INDEX": "0", "FRACDET_WORKERS": "2"}
    del environment["FRACDET_WORKER_PORT"]
    assert json.loads(tf_config_from_environment(environment))["cluster"]["worker"] == [
        "fracdet-train-x7k2p-node-1-0.fracdet-train-x7k2p:2222", "fracdet-train-x7k2p-node-1-1.fracdet-train-x7k2p:2222"]
    environment["FRACDET_WORKER_PORT"] = "40001"
    assert json.loads(tf_config_from_environment(environment)) == {
        "cluster": {"worker": ["fracdet-train-x7k2p-node-1-0.fracdet-train-x7k2p:40001",
                               "fracdet-train-x7k2p-node-1-1.fracdet-train-x7k2p:40001"]},
        "task": {"type": "worker", "index": 0},
    }


def test_a_single_worker_is_a_cluster_of_one():
    environment = {**POD_ENVIRONMENT, "JOB_COMPLETION_INDEX": "0", "FRACDET_WORKERS": "1"}
    assert json.loads(tf_config_from_environment(environment)) == {
        "cluster": {"worker": ["fracdet-train-x7k2p-node-0-0.fracdet-train-x7k2p:2222"]},
        "task": {"type": "worker", "index": 0},
    }


def test_a_tfjobs_tf_config_is_taken_as_it_is_over_the_jobset_variables():
    assert tf_config_from_environment({**POD_ENVIRONMENT, "TF_CONFIG": TFJOB_TF_CONFIG}) == TFJOB_TF_CONFIG
    assert tf_config_from_environment({"TF_CONFIG": TFJOB_TF_CONFIG}) == TFJOB_TF_CONFIG


def test_an_empty_tf_config_counts_as_unset():
    assert tf_config_from_environment({**POD_ENVIRONMENT, "TF_CONFIG": " "}) == tf_config_from_environment(POD_ENVIRONMENT)


@pytest.mark.parametrize("name", ["JOBSET_NAME", "REPLICATED_JOB_NAME", "JOB_INDEX", "JOB_COMPLETION_INDEX", "FRACDET_WORKERS"])
@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_jobset_variable_is_named(name, value):
    environment = {key: given for key, given in POD_ENVIRONMENT.items() if key != name}
    if value is not None:
        environment[name] = value
    with pytest.raises(ConfigError, match=rf"^{name} is not set, nor is TF_CONFIG: a training worker needs TF_CONFIG "):
        tf_config_from_environment(environment)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"FRACDET_WORKERS": "0"}, "FRACDET_WORKERS must be 1 or more, got 0"),
     ({"FRACDET_WORKERS": "three"}, "FRACDET_WORKERS must be an integer, got 'three'"),
     ({"FRACDET_WORKERS": "2.0"}, "FRACDET_WORKERS must be an integer, got '2.0'"),
     ({"JOB_COMPLETION_INDEX": "3"}, r"JOB_COMPLETION_INDEX 3 is out of range for FRACDET_WORKERS=3 \(0 to 2\)"),
     ({"JOB_COMPLETION_INDEX": "-1"}, "JOB_COMPLETION_INDEX must be 0 or more, got -1"),
     ({"JOB_INDEX": "x"}, "JOB_INDEX must be an integer, got 'x'"),
     ({"JOB_INDEX": "-2"}, "JOB_INDEX must be 0 or more, got -2"),
     ({"FRACDET_WORKER_PORT": "0"}, "FRACDET_WORKER_PORT must be from 1 to 65535, got 0"),
     ({"FRACDET_WORKER_PORT": "65536"}, "FRACDET_WORKER_PORT must be from 1 to 65535, got 65536"),
     ({"FRACDET_WORKER_PORT": "http"}, "FRACDET_WORKER_PORT must be an integer, got 'http'"),
     ({"JOBSET_NAME": "Fracdet_Train"},
      r"JOBSET_NAME must be a DNS label \(lower-case letters, digits and '-'\), got 'Fracdet_Train'"),
     ({"REPLICATED_JOB_NAME": "node."}, "REPLICATED_JOB_NAME must be a DNS label .*, got 'node.'")],
)
def test_a_bad_jobset_variable_is_named_with_its_value(changes, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        tf_config_from_environment({**POD_ENVIRONMENT, **changes})


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [("{cluster: 1}", "TF_CONFIG is not JSON: Expecting property name enclosed in double quotes"),
     ('["worker"]', "TF_CONFIG must be a JSON object with 'cluster' and 'task', got list"),
     ('{"task": {"type": "worker", "index": 0}}',
      "TF_CONFIG's 'cluster' must map each task type to a list of addresses, got None"),
     ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "TF_CONFIG's 'cluster' must map each task type"),
     ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "TF_CONFIG's 'cluster' must map each task type"),
     ('{"cluster": {"worker": ["a:1"]}}', r"TF_CONFIG's 'task' must name a type in its cluster \(worker\), got None"),
     ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
      r"TF_CONFIG's 'task' must name a type in its cluster \(worker\), got \{'type': 'chief', 'index': 0\}"),
     ('{"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 1}}',
      "TF_CONFIG's task index must be 0 to 0 for its 1 worker tasks, got 1"),
     ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": "1"}}',
      "TF_CONFIG's task index must be 0 to 1 for its 2 worker tasks, got '1'"),
     ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker"}}',
      "TF_CONFIG's task index must be 0 to 1 for its 2 worker tasks, got None")],
)
def test_a_bad_tf_config_is_refused_with_what_is_wrong(tf_config, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        tf_config_from_environment({**POD_ENVIRONMENT, "TF_CONFIG": tf_config})
