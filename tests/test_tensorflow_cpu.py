"""The oneDNN cap: set in every fresh fracdet process, the user's choice kept, upstream's crash reproducer survived.

The reproducer (tensorflow/tensorflow#117700) crashes TensorFlow 2.20-2.21 two or three times in
three on an AVX-512 CPU without the cap; on a CPU without AVX-512 it passes either way, so there
the test shows only that the cap reaches oneDNN, which the ISA oneDNN reports confirms.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import platform
import subprocess
import sys

import pytest

from fracdet_core.tensorflow_cpu import ISA_VARIABLE, ONEDNN_ON, ONEDNN_SWITCH, SAFE_ISA, apply_safe_defaults

RUNS = 20
# Every fracdet entry point (the CLI, a component's body, a spawned worker) imports fracdet_core
# before its first TensorFlow op; the child does the same and nothing else of fracdet's.
_REPRODUCER = f"""
import fracdet_core
import os
import tensorflow as tf

print("cap:", os.environ.get("{ISA_VARIABLE}"))
tf.random.set_seed(280958)
for _ in range(50):
    tf.linalg.matmul(tf.random.normal([13, 1, 3, 4]), tf.random.normal([4, 16]))
print("ok")
tf.nn.conv2d(tf.ones([1, 8, 8, 4]), tf.ones([3, 3, 4, 4]), 1, "SAME")  # a oneDNN kernel, so that oneDNN names its ISA
"""


def _fresh_environment(**chosen: str) -> dict[str, str]:
    """This process's environment without the oneDNN variables (conftest's import set the cap here), plus `chosen`."""
    environment = {key: value for key, value in os.environ.items() if key not in (ISA_VARIABLE, ONEDNN_SWITCH)}
    return {**environment, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **chosen}


def _run_reproducer(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _REPRODUCER], env=environment, capture_output=True, text=True, timeout=300)


def _onednn_isa(output: str) -> str:
    """The instruction set oneDNN says it dispatches to (its verbose 'cpu,isa:' line)."""
    lines = [line for line in output.splitlines() if ",cpu,isa:" in line]
    assert lines, f"oneDNN printed no ISA line; did TensorFlow run any oneDNN kernel?\n{output[-2000:]}"
    return lines[0].split(",cpu,isa:", 1)[1]


@pytest.mark.slow
def test_upstream_reproducer_survives_twenty_fresh_processes_capped_at_avx2():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: _run_reproducer(_fresh_environment()), range(RUNS)))
    for index, result in enumerate(results):
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"run {index} exited {result.returncode}:\n{output[-3000:]}"
        assert "cap: AVX2" in result.stdout and "ok" in result.stdout.splitlines()
        assert "AVX-512" not in _onednn_isa(output)


@pytest.mark.slow
def test_a_users_own_cap_reaches_onednn_unchanged():
    result = _run_reproducer(_fresh_environment(**{ISA_VARIABLE: "SSE41"}))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cap: SSE41" in result.stdout
    assert _onednn_isa(result.stdout + result.stderr) == "Intel SSE4.1"


@pytest.mark.parametrize(("environment", "expected_set", "expected_cap"), [
    ({}, {ISA_VARIABLE: SAFE_ISA, ONEDNN_SWITCH: ONEDNN_ON}, SAFE_ISA),
    ({ISA_VARIABLE: "ALL"}, {ONEDNN_SWITCH: ONEDNN_ON}, "ALL"),
    ({ISA_VARIABLE: "SSE41", ONEDNN_SWITCH: "1"}, {}, "SSE41"),
    ({ONEDNN_SWITCH: "0"}, {ISA_VARIABLE: SAFE_ISA}, SAFE_ISA),  # harmless with oneDNN off, and safe if it is turned on again
])
def test_the_cap_and_the_switch_are_set_only_where_the_user_chose_none(environment, expected_set, expected_cap):
    chosen = dict(environment)
    assert apply_safe_defaults(environment, cpu_flags=frozenset(), machine="x86_64") == expected_set
    assert environment == {**chosen, **expected_set}
    assert environment[ISA_VARIABLE] == expected_cap


@pytest.mark.parametrize("machine", ["aarch64", "arm64", "ppc64le"])
def test_onednn_is_left_to_tensorflow_off_x86(machine):
    """TensorFlow's own oneDNN choice on other architectures: the cap and the measurements are x86's."""
    environment: dict[str, str] = {}
    assert apply_safe_defaults(environment, cpu_flags=frozenset(), machine=machine) == {ISA_VARIABLE: SAFE_ISA}
    assert ONEDNN_SWITCH not in environment


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="fracdet turns oneDNN on on x86 only")
@pytest.mark.parametrize(("chosen", "expected"), [({}, "True"), ({ONEDNN_SWITCH: "0"}, "False")])
@pytest.mark.slow
def test_a_fresh_fracdet_process_runs_onednn_unless_the_user_said_no(chosen, expected):
    """Whatever TensorFlow's own policy on this CPU, a process that imports fracdet_core first runs oneDNN's kernels."""
    probe = ("import fracdet_core, tensorflow\n"
             "from tensorflow.python.util import _pywrap_util_port as port\nprint(port.IsMklEnabled())")
    result = subprocess.run([sys.executable, "-c", probe], env=_fresh_environment(**chosen), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == expected


@pytest.mark.parametrize(("environment", "flags", "warned"), [
    ({ISA_VARIABLE: "ALL"}, {"avx2", "avx512f"}, True),
    ({ISA_VARIABLE: "AVX512_CORE_BF16"}, {"avx512f"}, True),
    ({ISA_VARIABLE: "ALL", ONEDNN_SWITCH: "0"}, {"avx512f"}, False),  # oneDNN off: its ISA does not matter
    ({ISA_VARIABLE: "ALL"}, {"avx2"}, False),  # no AVX-512 to reach
    ({ISA_VARIABLE: "avx2"}, {"avx512f"}, False),
])
def test_lifting_the_cap_on_an_avx512_cpu_warns(environment, flags, warned, caplog):
    with caplog.at_level(logging.WARNING, logger="fracdet_core.tensorflow_cpu"):
        apply_safe_defaults(environment, cpu_flags=frozenset(flags), machine="x86_64")
    assert any("tensorflow/tensorflow#117700" in record.getMessage() for record in caplog.records) is warned
