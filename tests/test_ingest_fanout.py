"""The fanned-out ingest: plan, parts and merge against a single ingest; the sub-pipeline compiled and run by kfp.local."""


import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from kfp import compiler, dsl, local
from kfp.dsl import Dataset, Input
from yolo_builders import add_image, png_bytes

from fracdet_components.image import FRACDET_IMAGE
from fracdet_core.data.schema import decode_image_example
from fracdet_core.data.tfrecord import read_records
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.ingest.merge import merge_parts
from fracdet_core.ingest.part import ingest_shards
from fracdet_core.ingest.plan import FanOutError, IngestPlan, plan_ingest, read_plan, write_plan
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_pipelines.cluster import ClusterConfig
from fracdet_pipelines.ingest_stage import create_ingest_fanout
from fracdet_pipelines.kfp_local_patches import patched_kfp_local

LABEL = "0 0.5 0.5 0.2 0.2\n"
TRAIN, VAL = 20, 6  # synthetic images, before the broken and repeated files below


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Synthetic radiographs plus every case the merge decides or carries over.

    Repeated bytes within train and across splits (decided only at merge), a repeat whose label
    has a warning (the warning must go with it), a corrupt image and an orphan label (carried
    over from a part and from the plan).
    """
    root = tmp_path_factory.mktemp("fanout") / "data"
    generate_dataset(SynthConfig(train=TRAIN, val=VAL, size=64, seed=11), str(root), progress=False)
    first, second = sorted((root / "train" / "images").iterdir())[:2]
    add_image(root, "train", "again.png", second.read_bytes(), LABEL)
    add_image(root, "valid", "leak.png", first.read_bytes(), LABEL)
    add_image(root, "train", "twice.png", png_bytes(2), LABEL + LABEL)
    add_image(root, "valid", "twice_copy.png", png_bytes(2), LABEL + LABEL)
    add_image(root, "train", "broken.png", png_bytes(3)[:100], LABEL)
    (root / "train" / "labels" / "orphan.txt").write_text(LABEL)
    return root


def _fan_out(data: Path, base: Path, *, shards: int, parts: int, workers: int = 1) -> tuple[IngestPlan, list[str]]:
    """Plan into `base`/plan and ingest every part into `base`/part-<k>, as the pipeline's tasks do."""
    write_plan(plan_ingest(str(data), parts, IngestConfig(shards=shards)), str(base / "plan"))
    plan = read_plan(str(base / "plan"))
    part_uris = [str(base / f"part-{index}") for index in range(len(plan.parts))]
    for index, uri in enumerate(part_uris):
        ingest_shards(plan, index, uri, workers=workers, progress=False)
    return plan, part_uris


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _source_ids(folder: Path) -> list[str]:
    ids = []
    for shard in sorted(folder.glob("*.tfrecord")):
        with shard.open("rb") as stream:
            ids.extend(decode_image_example(record).source_id for record in read_records(stream))
    return ids


def test_the_plan_deals_whole_shards_into_balanced_parts(dataset, tmp_path):
    plan = plan_ingest(str(dataset), 4, IngestConfig(shards=3))
    images = {"train": TRAIN + 3, "val": VAL + 2}  # every listed image has a place, the broken one too
    names = sorted(shard.name for part in plan.parts for shard in part)
    assert names == sorted(f"{split}-0000{k}-of-00003.tfrecord" for split in ("train", "val") for k in range(3))
    assert len(plan.parts) == 4
    for split, count in images.items():
        sizes = [len(shard.tasks) for shard in plan.shards() if shard.split == split]
        assert sum(sizes) == count and max(sizes) - min(sizes) <= 1
    loads = sorted(sum(len(shard.tasks) for shard in part) for part in plan.parts)
    assert loads[-1] - loads[0] <= max(len(shard.tasks) for shard in plan.shards())
    assert [(problem.reason, Path(problem.path).name) for problem in plan.listing_problems] == [("orphan_label", "orphan.txt")]
    write_plan(plan, str(tmp_path))
    assert read_plan(str(tmp_path)) == plan
    assert plan_ingest(str(dataset), 4, IngestConfig(shards=3)).to_json() == plan.to_json()
    assert len(plan_ingest(str(dataset), 10, IngestConfig(shards=3)).parts) == 6  # never more parts than shards
    assert len(plan_ingest(str(dataset), 1, IngestConfig(shards=3)).parts) == 1


def test_the_plan_puts_each_image_in_the_shard_a_single_ingest_does(dataset, tmp_path):
    ingest_dataset(str(dataset), str(tmp_path), IngestConfig(shards=3), progress=False)
    single = {(row["split"], row["image_id"]): row["shard"] for row in pq.read_table(tmp_path / "labels.parquet").to_pylist()}
    plan = plan_ingest(str(dataset), 2, IngestConfig(shards=3))
    planned = {(task.split, task.source_id): shard.name for shard in plan.shards() for task in shard.tasks}
    assert single.items() <= planned.items()


@pytest.mark.parametrize(("shards", "parts", "workers"), [(3, 4, 1), (2, 2, 2)])
def test_merged_parts_are_byte_for_byte_a_single_ingest(dataset, tmp_path, shards, parts, workers):
    single = tmp_path / "single"
    manifest = ingest_dataset(str(dataset), str(single), IngestConfig(shards=shards), progress=False)
    plan, part_uris = _fan_out(dataset, tmp_path, shards=shards, parts=parts, workers=workers)
    merged = tmp_path / "merged"
    assert merge_parts(plan, part_uris[::-1], str(merged), progress=False) == manifest

    assert manifest["totals"] == {"found": TRAIN + VAL + 6, "ingested": TRAIN + VAL + 1, "quarantined": 5, "warnings": 1}
    assert manifest["quarantine_reasons"] == {
        "corrupt_image": 1, "duplicate_across_splits": 2, "duplicate_within_split": 1, "orphan_label": 1,
    }
    # The parts kept every repeat; the merge dropped them from the shards it rewrote.
    part_ids = sorted(id_ for uri in part_uris for id_ in _source_ids(Path(uri)))
    assert len(part_ids) == TRAIN + VAL + 4
    assert sorted(_source_ids(merged)) == sorted(_source_ids(single)) and len(_source_ids(merged)) == TRAIN + VAL + 1
    assert (merged / "quarantine.jsonl").read_text() == (single / "quarantine.jsonl").read_text()
    assert _files(merged) == _files(single)


def test_merging_again_into_the_same_folder_replaces_an_other_layout(dataset, tmp_path):
    merged = tmp_path / "merged"
    ingest_dataset(str(dataset), str(merged), IngestConfig(shards=1), progress=False)
    plan, part_uris = _fan_out(dataset, tmp_path, shards=2, parts=2)
    merge_parts(plan, part_uris, str(merged), progress=False)
    ingest_dataset(str(dataset), str(tmp_path / "single"), IngestConfig(shards=2), progress=False)
    assert _files(merged) == _files(tmp_path / "single")


@pytest.fixture(scope="module")
def fanned_out(dataset, tmp_path_factory) -> tuple[IngestPlan, list[str]]:
    return _fan_out(dataset, tmp_path_factory.mktemp("parts"), shards=2, parts=3)


def _spoil(case: str, plan: IngestPlan, part_uris: list[str], tmp_path: Path, dataset: Path) -> list[str]:
    """A copy of the parts' folders with one thing wrong."""
    copies = []
    for uri in part_uris:
        copies.append(str(tmp_path / Path(uri).name))
        shutil.copytree(uri, copies[-1])
    if case == "missing":
        return copies[:1] + copies[2:]
    if case == "unfinished":
        (Path(copies[1]) / "part.json").unlink()
    if case == "twice":
        return copies + copies[:1]
    if case == "other plan":
        _, others = _fan_out(dataset, tmp_path / "other", shards=2, parts=2)
        return copies[:1] + others[1:2] + copies[2:]
    if case == "tampered shard":
        shard = sorted(Path(copies[2]).glob("*.tfrecord"))[0]
        data = bytearray(shard.read_bytes())
        data[-10] ^= 0xFF
        shard.write_bytes(bytes(data))
    return copies


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", r"ingest part\(s\) 1 of parts 0-2 missing: got 2 part folder\(s\)"),
        ("unfinished", r"part-1 holds no part.json: its ingest part did not finish"),
        ("twice", r"part 0 \(of parts 0-2\) was given twice"),
        ("other plan", r"part-1 is part 1 \(of parts 0-1\) of another ingest plan"),
        ("tampered shard", r"part-2/.*\.tfrecord: .*(checksum|sha256)"),
    ],
)
def test_a_missing_or_inconsistent_part_stops_the_merge_with_a_clear_message(fanned_out, dataset, tmp_path, case, message):
    plan, part_uris = fanned_out
    spoiled = _spoil(case, plan, part_uris, tmp_path, dataset)
    with pytest.raises(FanOutError, match=message):
        merge_parts(plan, spoiled, str(tmp_path / "merged"), progress=False)
    assert not (tmp_path / "merged" / "manifest.json").exists()


# --- the sub-pipeline --------------------------------------------------------------------------


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def ingested_images(dataset: Input[Dataset]) -> int:
    """A downstream task, as EDA and training are: it reads the merged dataset's manifest."""
    from fracdet_components.artifacts import artifact_location
    from fracdet_core.data.manifest import read_manifest

    return read_manifest(artifact_location(dataset))["totals"]["ingested"]


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def finally_task(status: dsl.PipelineTaskFinalStatus) -> str:
    """The exit handler's task, as the main DAG's outcome record is."""
    return status.state


def _outer_pipeline(options: ClusterConfig, parallelism: int):
    """The fan-out used as a task inside another pipeline's exit handler, as the main DAG uses it."""
    ingest_fanout = create_ingest_fanout(options, parallelism=parallelism)

    @dsl.pipeline(name="uses-ingest-fanout")
    def outer(data_uri: str, shards: int, workers: int):
        with dsl.ExitHandler(finally_task(), name="Run"):
            ingest_task = ingest_fanout(data_uri=data_uri, data_fingerprint="fixed for the test", shards=shards, max_side=0,
                                        workers=workers)
            ingest_task.set_display_name("Ingest YOLO dataset")
            ingested_images(dataset=ingest_task.output)

    return outer


def test_the_compiled_fanout_holds_the_loop_its_parallelism_and_the_collected_merge(tmp_path):
    path = tmp_path / "fanout.yaml"
    options = ClusterConfig(task_retries=2, gcs_secret="gcs-key")
    compiler.Compiler().compile(create_ingest_fanout(options, parallelism=3), str(path))
    spec, platform = yaml.safe_load_all(path.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"ingest-plan", "for-loop-1", "ingest-merge"}
    loop = tasks["for-loop-1"]
    assert loop["iteratorPolicy"] == {"parallelismLimit": 3}
    assert loop["parameterIterator"]["items"] == {"inputParameter": "pipelinechannel--ingest-plan-Output"}
    assert loop["taskInfo"]["name"] == "ingest-parts"
    assert set(spec["components"]["comp-for-loop-1"]["dag"]["tasks"]) == {"ingest-part"}
    merge = tasks["ingest-merge"]
    assert merge["inputs"]["artifacts"]["parts"]["taskOutputArtifact"] == {
        "outputArtifactKey": "pipelinechannel--ingest-part-shards", "producerTask": "for-loop-1",
    }
    assert spec["components"]["comp-ingest-merge"]["inputDefinitions"]["artifacts"]["parts"]["isArtifactList"] is True
    assert tasks["ingest-plan"]["inputs"]["parameters"]["parts"] == {"componentInputParameter": "workers"}
    assert tasks["ingest-plan"]["inputs"]["parameters"]["data_fingerprint"] == {"componentInputParameter": "data_fingerprint"}
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert set(parameters) == {"data_uri", "data_fingerprint", "shards", "max_side", "workers"}
    assert "isOptional" not in parameters["data_fingerprint"]  # a cached plan must be keyed on the data
    assert spec["root"]["outputDefinitions"]["artifacts"]["Output"]["artifactType"]["schemaTitle"] == "system.Dataset"
    inner = spec["components"]["comp-for-loop-1"]["dag"]["tasks"]["ingest-part"]
    for task in (tasks["ingest-plan"], inner, merge):
        assert task["cachingOptions"] == {"enableCache": True}
        assert task["retryPolicy"] == {
            "maxRetryCount": 2, "backoffDuration": "30s", "backoffFactor": 2.0, "backoffMaxDuration": "3600s",
        }
    images = {executor["container"]["image"] for executor in spec["deploymentSpec"]["executors"].values()}
    assert images == {FRACDET_IMAGE}
    secrets = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(secrets) == {"exec-ingest-plan", "exec-ingest-part", "exec-ingest-merge"}
    assert all(executor["secretAsVolume"][0]["secretName"] == "gcs-key" for executor in secrets.values())

    nested = tmp_path / "outer.yaml"
    compiler.Compiler().compile(_outer_pipeline(ClusterConfig(), parallelism=3), str(nested))
    outer = yaml.safe_load(nested.read_text())
    assert outer["components"]["comp-ingest-fanout"]["dag"]["tasks"]["for-loop-1"]["iteratorPolicy"] == {"parallelismLimit": 3}


@pytest.mark.slow
def test_the_fanout_runs_in_kfp_local_as_a_task_of_another_pipeline(dataset, tmp_path):
    root = tmp_path / "runs"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    with patched_kfp_local(lambda task: None, verbose=True):
        _outer_pipeline(ClusterConfig(task_retries=0), parallelism=2)(data_uri=str(dataset), shards=2, workers=3)

    (run,) = root.iterdir()
    part_runs = sorted(path.parent.parent.name for path in run.glob("for-loop-*-iteration-*/ingest-part/executor_output.json"))
    assert part_runs == ["for-loop-1-iteration-0", "for-loop-1-iteration-1", "for-loop-1-iteration-2"]
    plan_output = json.loads((run / "ingest-plan" / "executor_output.json").read_text())
    assert plan_output["parameterValues"]["Output"] == [0, 1, 2]
    assert plan_output["artifacts"]["plan"]["artifacts"][0]["metadata"]["parts"] == 3
    merged = json.loads((run / "ingest-merge" / "executor_output.json").read_text())["artifacts"]["dataset"]["artifacts"][0]
    assert merged["metadata"]["display_name"] == "Ingested dataset (TFRecord shards)"
    manifest = json.loads((Path(merged["uri"]) / "manifest.json").read_text())
    assert manifest["totals"] == {"found": TRAIN + VAL + 6, "ingested": TRAIN + VAL + 1, "quarantined": 5, "warnings": 1}
    assert [len(manifest["splits"][split]["shards"]) for split in ("train", "val")] == [2, 2]
    # The downstream task read the merged dataset, and the exit handler ran after everything.
    downstream = json.loads((run / "ingested-images" / "executor_output.json").read_text())
    assert downstream["parameterValues"]["Output"] == TRAIN + VAL + 1
    assert json.loads((run / "finally-task" / "executor_output.json").read_text())["parameterValues"]["Output"] == "SUCCEEDED"
