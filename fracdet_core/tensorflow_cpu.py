"""TensorFlow's CPU settings that keep every fracdet process correct, and fast, on any x86 CPU.

Correct: TensorFlow 2.20 and 2.21 ship oneDNN kernels that corrupt the heap on CPUs with AVX-512
(tensorflow/tensorflow#117700): glibc aborts ("corrupted double-linked list"), segmentation
faults, or numbers that silently change. Cloud nodes where evaluation, prediction, CPU training
and KServe run increasingly have AVX-512.

Capping oneDNN at its AVX2 kernels (`ONEDNN_MAX_CPU_ISA=AVX2`) avoids the faulty kernels and
keeps oneDNN's speed elsewhere; switching oneDNN off (`TF_ENABLE_ONEDNN_OPTS=0`) avoids them
too, but gives up oneDNN's faster kernels altogether (`bench/onednn.py` compares the settings).
On a CPU without AVX-512 the cap selects the kernels oneDNN would pick anyway.

oneDNN reads the cap when it first dispatches a kernel, not when TensorFlow is imported, and
every process fracdet starts (the CLI, the components' bodies, tests, benches) imports
`fracdet_core` before it runs a TensorFlow op; so `fracdet_core` sets the cap as it is imported
(with the switch below, the only things this library does to its environment at import: they
must precede any op).
Worker processes inherit it. The images set the same variable, for processes that never import
fracdet. A user's own setting wins: `ONEDNN_MAX_CPU_ISA=ALL` undoes the cap.

Drop the cap once the locked TensorFlow carries the upstream fix.

Fast: TensorFlow turns oneDNN on by itself only on CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI
or AMX (`DefaultOneDnnPolicy`, tensorflow/core/util/port.cc), so most AVX2 cloud CPUs train
with Eigen's kernels, which TensorFlow's wheel builds for AVX without FMA. fracdet turns oneDNN
on (`TF_ENABLE_ONEDNN_OPTS=1`) on every x86 CPU, within the cap, where its convolutions and
their gradients are faster (`bench/levers.py` compares them).
TensorFlow reads this switch once, when it is imported: a process that imports TensorFlow
before `fracdet_core` keeps TensorFlow's choice. The user's own setting wins.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from collections.abc import MutableMapping

ISA_VARIABLE = "ONEDNN_MAX_CPU_ISA"
ONEDNN_SWITCH = "TF_ENABLE_ONEDNN_OPTS"
SAFE_ISA = "AVX2"
ONEDNN_ON = "1"
_X86_MACHINES = frozenset({"x86_64", "amd64", "i386", "i686"})
# oneDNN's ISA names at or below the cap, which never reach the faulty AVX-512 kernels; every other name does.
_ISAS_WITHOUT_AVX512 = frozenset({"SSE41", "AVX", "AVX2"})

_log = logging.getLogger(__name__)


def apply_safe_defaults(
    environ: MutableMapping[str, str] = os.environ, cpu_flags: frozenset[str] | None = None, machine: str | None = None
) -> dict[str, str]:
    """Cap oneDNN at AVX2 unless the user chose a cap, and turn it on on x86 unless the user chose; returns what it set.

    Args:
        environ: the environment to complete (the process's own by default).
        cpu_flags: the CPU's feature flags, for the warning below; read from /proc/cpuinfo when None.
        machine: the processor architecture (`platform.machine()` when None): oneDNN is turned on
            on x86 only, the architecture the cap is written for.

    A user who lifted the cap, with oneDNN on, on a CPU that has AVX-512 gets a warning: that is
    exactly the combination that corrupts memory.
    """
    applied = {}
    if ONEDNN_SWITCH not in environ and (machine or platform.machine()).lower() in _X86_MACHINES:
        environ[ONEDNN_SWITCH] = applied[ONEDNN_SWITCH] = ONEDNN_ON
        if "tensorflow" in sys.modules:
            _log.info("TensorFlow was imported before fracdet_core and keeps its own oneDNN choice in this process")
    chosen = environ.get(ISA_VARIABLE)
    if chosen is None:
        environ[ISA_VARIABLE] = applied[ISA_VARIABLE] = SAFE_ISA
        return applied
    onednn_off = environ.get(ONEDNN_SWITCH, "").strip().lower() in ("0", "false", "off")
    if chosen.strip().upper() not in _ISAS_WITHOUT_AVX512 and not onednn_off:
        flags = read_cpu_flags() if cpu_flags is None else cpu_flags
        if "avx512f" in flags:
            _log.warning("%s=%s lets TensorFlow's oneDNN use AVX-512 kernels on this CPU, which corrupt memory in "
                         "TensorFlow 2.20-2.21 (tensorflow/tensorflow#117700); unset it or set %s=%s",
                         ISA_VARIABLE, chosen, ISA_VARIABLE, SAFE_ISA)
    return applied


def read_cpu_flags() -> frozenset[str]:
    """The feature flags of the first CPU in /proc/cpuinfo; empty where there is no such file."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:  # no /proc (not Linux): no flags to warn about
        return frozenset()
    return frozenset()
