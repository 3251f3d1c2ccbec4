"""The CPU the benchmarks ran on, and its float32 peaks: in theory (cores x FMA width x clock) and as a matmul measures it.

The theoretical peak assumes two FMA pipes per core (every AMD Zen and Intel core since Haswell
that cloud CPUs use; a few Xeon Silver/Bronze parts have one 512-bit pipe) at the vector width
of the kernels TensorFlow runs here: fracdet caps oneDNN at AVX2, 8 float32 lanes, whatever
wider registers the CPU has. The clock is the one /proc/cpuinfo reports, unless a measured
matmul runs faster than that clock allows (a hypervisor reports the nominal clock, the cores
boost): then the least clock the matmul proves.
"""

from __future__ import annotations

import os
import platform
import time

from fracdet_core.tensorflow_cpu import read_cpu_flags

FMA_PIPES_PER_CORE = 2
FLOPS_PER_FMA = 2
AVX2_FLOAT32_LANES = 8


def _cpuinfo_field(name: str) -> str | None:
    """The first value of a /proc/cpuinfo field, or None where there is no such file or field."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as stream:
            return next((line.partition(":")[2].strip() for line in stream if line.split(":")[0].strip() == name), None)
    except OSError:
        return None


def cpu_description() -> str:
    """The CPU's model name, core count and AVX-512 flags."""
    name = _cpuinfo_field("model name") or platform.processor() or platform.machine()
    avx512 = sorted(flag for flag in read_cpu_flags() if flag.startswith("avx512"))
    return f"{name}, {os.cpu_count()} cores, " + (f"AVX-512 ({' '.join(avx512)})" if avx512 else "no AVX-512")


def clock_ghz() -> float | None:
    megahertz = _cpuinfo_field("cpu MHz")
    return float(megahertz) / 1000 if megahertz else None


def theoretical_peak_gflops(matmul_gflops: float) -> tuple[float, str]:
    """float32 GFLOP/s of all cores at AVX2 width, and how it was computed.

    The clock is /proc/cpuinfo's, or the one a measured matmul proves where that is higher: a
    hypervisor reports the nominal clock while the cores boost, and no kernel beats the peak.
    """
    cores, nominal = os.cpu_count() or 1, clock_ghz()
    per_cycle = FMA_PIPES_PER_CORE * AVX2_FLOAT32_LANES * FLOPS_PER_FMA
    proven = matmul_gflops / (cores * per_cycle)
    ghz = max(nominal or 0.0, proven)
    source = (f"/proc/cpuinfo's {nominal:.2f} GHz" if nominal and nominal >= proven
              else f"{proven:.2f} GHz, the least clock at which the measured matmul fits (/proc/cpuinfo: "
                   f"{f'{nominal:.2f} GHz' if nominal else 'none'})")
    return cores * per_cycle * ghz, (f"{cores * per_cycle * ghz:.0f} GFLOP/s = {cores} cores x {FMA_PIPES_PER_CORE} FMA "
                                     f"pipes x {AVX2_FLOAT32_LANES} float32 lanes (AVX2) x {FLOPS_PER_FMA} x clock; clock: "
                                     f"{source}")


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    """float32 GFLOP/s of a large matrix product in this process (its kernels: this process's oneDNN setting)."""
    import tensorflow as tf

    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    tf.linalg.matmul(a, b).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        product = tf.linalg.matmul(a, b)
    product.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - started) / 1e9


def tensorflow_onednn_default(flags: frozenset[str]) -> bool:
    """Whether TensorFlow 2.21 turns oneDNN on by itself on an x86 Linux CPU with these flags.

    `DefaultOneDnnPolicy` (tensorflow/core/util/port.cc): only where the CPU has AVX512_VNNI,
    AVX512_BF16, AVX_VNNI or AMX; most AVX2 cloud CPUs (AMD Zen 2 and 3, older Intel) run Eigen.
    """
    return bool(flags & {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"})
