"""One vocabulary across the stages: a stage's settings are its `<Stage>Config` in `config.py`, its entry is
`run.py`, and `register` names only the user-facing stage (the `fracdet register` command and its pipeline task).

Read from the source with `ast`, so the check needs no import of TensorFlow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "fracdet_core"
# The pipeline's stages, as the library names its packages, and the settings class each one takes.
STAGES = {"ingest": "IngestConfig", "eda": "EdaConfig", "train": "TrainConfig", "evaluate": "EvaluateConfig",
          "predict": "PredictConfig"}
SHIPPED = ("fracdet_core", "fracdet", "components", "pipelines")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _top_level(path: Path, kind: type) -> set[str]:
    return {node.name for node in _tree(path).body if isinstance(node, kind)}


def _sources() -> list[Path]:
    return sorted(path for package in SHIPPED for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(("stage", "config"), sorted(STAGES.items()))
def test_each_stage_keeps_its_settings_in_config_py_and_its_entry_in_run_py(stage, config):
    assert config in _top_level(CORE / stage / "config.py", ast.ClassDef)
    assert (CORE / stage / "run.py").is_file()


def test_the_registry_stage_enters_through_run_py_and_registers_a_model_version():
    assert "register_model_version" in _top_level(CORE / "registry" / "run.py", ast.FunctionDef)


def test_no_settings_class_is_called_options():
    options = [f"{path.relative_to(ROOT)}: {name}" for path in _sources()
               for name in _top_level(path, ast.ClassDef) if name.endswith("Options")]
    assert options == []


def test_every_command_module_adds_its_commands_and_none_defines_register():
    modules = [path for path in (ROOT / "fracdet").glob("*.py") if not path.name.startswith("__")]
    hooks = {path.name: _top_level(path, ast.FunctionDef) for path in modules}
    missing = sorted(name for name, functions in hooks.items() if "add_commands" not in functions
                     and name not in {"arguments.py", "parameter_options.py", "tracking_options.py"})
    assert missing == []
    assert sorted(name for name, functions in hooks.items() if "register" in functions) == []


def test_register_is_a_function_name_only_for_the_pipeline_component():
    defined = sorted(str(path.relative_to(ROOT)) for path in _sources() if "register" in _top_level(path, ast.FunctionDef))
    assert defined == ["components/register.py"]
