"""`fracdet pipeline submit`: arguments typed by the compiled pipeline, and exit codes from the run's outcome.

There is no Kubeflow cluster here. The submit tests run the real `fracdet` command (in this
process, to spare a Python start per case) with the real kfp.Client against a loopback server
that answers the five KFP v2beta1 REST calls the client makes (tests/kfp_api_standin.py: health,
experiment lookup and creation, run creation, run state), and they assert on the request body kfp
sent: the compiled spec, the typed parameters, the service account. test_pipeline_submit_auth.py
submits through a stand-in of a Kubeflow Platform's gateway with each credential.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kfp_api_standin import RUN_ID, KfpApiStandin

from fracdet import main
from fracdet_components.run_records import record_blessing, write_outcome
from fracdet_core.errors import ConfigError
from fracdet_pipelines.compile import compile_pipeline
from fracdet_pipelines.local_run import local_pipeline
from fracdet_pipelines.parameters import argument_value, defined_parameters, parse_arguments, pipeline_parameters

pytestmark = pytest.mark.usefixtures("no_kfp_credentials")


@pytest.fixture(scope="module")
def pipeline_file(tmp_path_factory) -> str:
    return compile_pipeline(str(tmp_path_factory.mktemp("submit") / "pipeline.yaml"))


@pytest.fixture(scope="module")
def parameters(pipeline_file) -> dict:
    return pipeline_parameters(pipeline_file)


def test_arguments_take_the_pipelines_types(parameters):
    arguments = parse_arguments(
        ["data_uri=gs://b/xr", "registry_uri=gs://b/registry", "epochs=12", "promote=True", "max_quarantine_share=0.05",
         "model_name=007", "train_config_uri="],
        parameters,
    )
    assert arguments == {"data_uri": "gs://b/xr", "registry_uri": "gs://b/registry", "epochs": 12, "promote": True,
                         "max_quarantine_share": 0.05, "model_name": "007", "train_config_uri": ""}
    assert argument_value("model_name", {}, parameters) == "fracdet"  # the compiled default
    assert argument_value("model_name", arguments, parameters) == "007"  # a string stays a string


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["data_uri=x", "registry_uri=y", "epoch=3"], "unknown pipeline parameter 'epoch'; did you mean 'epochs'?"),
        (["data_uri=x", "registry_uri=y", "epochs=three"], "epochs='three': expected a whole number"),
        (["data_uri=x", "registry_uri=y", "epochs=2.5"], "epochs='2.5': expected a whole number"),
        (["data_uri=x", "registry_uri=y", "promote=maybe"], "promote='maybe': expected true or false"),
        (["data_uri=x", "registry_uri=y", "target_sensitivity=nan"], "expected a finite number"),
        (["data_uri=x", "registry_uri=y", "train_workers=0"],
         "train_workers=0: expected 1 or more (1 trains in one task, more on that many machines)"),
        (["data_uri=x", "registry_uri=y", "data_uri=z"], "'data_uri' is given twice"),
        (["data_uri"], "run arguments are key=value, got 'data_uri'"),
        (["data_uri=x"], "required pipeline parameters missing: registry_uri=..."),
    ],
)
def test_bad_arguments_are_named(parameters, pairs, message):
    with pytest.raises(ConfigError) as raised:
        parse_arguments(pairs, parameters)
    assert message in str(raised.value)


def test_json_parameters_must_have_their_shape():
    parameters = {"selector": {"parameterType": "STRUCT", "isOptional": True},
                  "items": {"parameterType": "LIST", "isOptional": True}}
    assert parse_arguments(['selector={"a": "b"}', "items=[1, 2]"], parameters) == {"selector": {"a": "b"}, "items": [1, 2]}
    with pytest.raises(ConfigError, match="expected a JSON object"):
        parse_arguments(["selector=[1]"], parameters)


def test_submit_and_a_local_run_take_the_same_parameters(parameters):
    """`submit` reads the compiled YAML, `run` the pipeline object: the same names, types, defaults and help."""
    defined = defined_parameters(local_pipeline())
    assert set(defined) == set(parameters)
    for name, definition in defined.items():
        compiled = parameters[name]
        assert definition["parameterType"] == compiled["parameterType"], name
        assert definition["description"] == compiled["description"], name
        assert definition.get("isOptional", False) == compiled.get("isOptional", False), name
        assert definition.get("defaultValue") == compiled.get("defaultValue"), name  # YAML holds 30 as 30.0: equal
    assert list(defined)[:2] == ["data_uri", "registry_uri"]  # the pipeline's own order, for --help


def test_a_file_that_is_not_a_pipeline_is_named(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text("kind: Deployment\n")
    with pytest.raises(ConfigError, match=r"other\.yaml: not a compiled KFP pipeline"):
        pipeline_parameters(str(path))


@pytest.fixture
def fake_kfp() -> Iterator[tuple[str, KfpApiStandin]]:
    """A single-user KFP API (a standalone Kubeflow Pipelines): its address and the stand-in, which records the requests."""
    with KfpApiStandin() as api:
        yield api.url, api


def _fracdet(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `fracdet ARGS`."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _submit(capsys, host: str, pipeline_file: str, registry: Path, outcome_file: Path, *extra: str) -> tuple[int, str, str]:
    return _fracdet(
        capsys, "pipeline", "submit", "--host", host, "--experiment", "retrain", "--pipeline-file", pipeline_file,
        "--run-name", "ci-42", "--service-account", "fracdet-runner", "--outcome-file", str(outcome_file), *extra,
        "data_uri=gs://bucket/xr", f"registry_uri={registry}", "epochs=3", "promote=true",
    )


@pytest.mark.parametrize(
    ("final_state", "blessed", "exit_code", "outcome"),
    [("SUCCEEDED", True, 0, "blessed"), ("SUCCEEDED", False, 3, "not_blessed"), ("FAILED", None, 1, "failed")],
)
def test_submit_waits_and_exits_with_the_runs_outcome(
    capsys, fake_kfp, pipeline_file, tmp_path, final_state, blessed, exit_code, outcome,
):
    host, api = fake_kfp
    api.final_state = final_state
    registry = tmp_path / "registry"
    if blessed is not None:  # what the run's evaluate and exit tasks leave behind
        record_blessing(str(registry), "fracdet", RUN_ID, blessed)
    write_outcome(str(registry), "fracdet", RUN_ID, "SUCCEEDED" if blessed is not None else "FAILED", None)
    outcome_file = tmp_path / "outcome.json"

    code, out, err = _submit(capsys, host, pipeline_file, registry, outcome_file, "--wait", "--timeout", "60")

    assert code == exit_code, out + err
    url = f"{host}/#/runs/details/{RUN_ID}"
    assert f"run: {RUN_ID}" in out and f"url: {url}" in out and f"outcome: {outcome}" in out
    assert json.loads(outcome_file.read_text()) == {"run_id": RUN_ID, "state": final_state, "outcome": outcome, "url": url}

    (experiment,) = [body for method, path, body in api.requests if method == "POST" and path.endswith("/experiments")]
    assert experiment["display_name"] == "retrain"
    (run,) = [body for method, path, body in api.requests if method == "POST" and path.endswith("/runs")]
    assert run["display_name"] == "ci-42" and run["experiment_id"] == "exp-1" and run["service_account"] == "fracdet-runner"
    assert run["runtime_config"]["parameters"] == {"data_uri": "gs://bucket/xr", "registry_uri": str(registry), "epochs": 3,
                                                  "promote": True}
    documents = list(yaml.safe_load_all(Path(pipeline_file).read_text()))
    assert run["pipeline_spec"]["pipeline_spec"]["pipelineInfo"] == documents[0]["pipelineInfo"]
    assert run["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]["pipelineConfig"] == {"activeDeadlineSeconds": 86400}
    assert (f"GET /apis/v2beta1/runs/{RUN_ID}") in {f"{method} {path}" for method, path, _ in api.requests}


def test_a_run_still_going_at_the_timeout_exits_1(capsys, fake_kfp, pipeline_file, tmp_path):
    host, api = fake_kfp
    api.final_state = "RUNNING"
    outcome_file = tmp_path / "outcome.json"
    code, out, err = _submit(capsys, host, pipeline_file, tmp_path / "registry", outcome_file, "--timeout", "1")
    assert code == 1, out + err
    assert json.loads(outcome_file.read_text())["outcome"] == "timed_out"
    assert json.loads(outcome_file.read_text())["state"] == "RUNNING"


def test_without_wait_a_created_run_exits_0(capsys, fake_kfp, pipeline_file, tmp_path):
    host, api = fake_kfp
    code, out, err = _submit(capsys, host, pipeline_file, tmp_path / "registry", tmp_path / "outcome.json")
    assert code == 0, out + err
    assert json.loads((tmp_path / "outcome.json").read_text())["outcome"] == "submitted"
    assert not [path for method, path, _ in api.requests if method == "GET" and "/runs/" in path]  # never polled


def test_usage_errors_exit_2_before_anything_is_sent(capsys, fake_kfp, pipeline_file):
    host, api = fake_kfp
    code, _, err = _fracdet(capsys, "pipeline", "submit", "--host", host, "--experiment", "e", "--pipeline-file", pipeline_file,
                            "data_uri=x", "registry_uri=y", "epochs=many")
    assert code == 2
    assert err.strip().splitlines()[-1] == "fracdet pipeline: error: epochs='many': expected a whole number"
    assert api.requests == []


def test_a_pipeline_file_and_an_image_are_one_too_many(capsys, pipeline_file):
    with pytest.raises(SystemExit) as exited:
        main(["pipeline", "submit", "--host", "h", "--experiment", "e", "--pipeline-file", pipeline_file, "--image", "r/f:1"])
    assert exited.value.code == 2
    assert "not allowed with argument --pipeline-file" in capsys.readouterr().err


def test_an_unreachable_backend_exits_1(capsys, pipeline_file):
    code, _, err = _fracdet(capsys, "pipeline", "submit", "--host", "http://127.0.0.1:9", "--experiment", "e",
                            "--pipeline-file", pipeline_file, "data_uri=x", "registry_uri=y")
    assert code == 1
    assert "cannot reach the Kubeflow Pipelines API at http://127.0.0.1:9" in err


@pytest.mark.slow
def test_without_a_pipeline_file_it_compiles_one_for_the_image(capsys, fake_kfp):
    host, api = fake_kfp
    code, out, err = _fracdet(capsys, "pipeline", "submit", "--host", host, "--experiment", "e",
                              "--image", "r.example/fracdet:abc", "data_uri=x", "registry_uri=y")
    assert code == 0, out + err
    (run,) = [body for method, path, body in api.requests if method == "POST" and path.endswith("/runs")]
    executors = run["pipeline_spec"]["pipeline_spec"]["deploymentSpec"]["executors"]
    images = {name: executor["container"]["image"] for name, executor in executors.items()}
    assert images.pop("exec-train") == "r.example/fracdet:abc-gpu" and set(images.values()) == {"r.example/fracdet:abc"}
