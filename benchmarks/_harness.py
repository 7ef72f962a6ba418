"""Timing, memory probing and reporting shared by the benchmark cases.

Timings are medians of repeated samples. Each sample runs an operation ``number`` times (chosen
so that a sample lasts about ``sample_seconds``) and records the time per operation. The
operations of one comparison are sampled in turn, in a rotating order, so that whatever else the
machine does at the moment (it has only two cores) weighs on the subject and on its baseline
alike; ratios are taken between medians measured in the same run.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MB = 1_000_000
"""Megabytes here are decimal, as in "a 10 MB attachment" = 10,000,000 bytes."""


@dataclass(frozen=True, slots=True)
class Settings:
    """How hard to measure: the default run, or ``--quick`` for a CI smoke run."""

    repeats: int = 15
    """Samples per operation for fast (sub-millisecond) operations."""
    big_repeats: int = 9
    """Samples per operation for the 10 MB operations (one operation per sample)."""
    memory_runs: int = 3
    """Fresh subprocesses per side for the memory figures (the median is reported)."""
    sample_seconds: float = 0.1
    """Wanted duration of one sample of a fast operation."""
    warmup: int = 2
    """Untimed runs of each operation before sampling."""

    @classmethod
    def quick(cls) -> Settings:
        return cls(repeats=5, big_repeats=3, memory_runs=1, sample_seconds=0.03, warmup=1)


@dataclass(slots=True)
class Timing:
    """Seconds per operation, one value per sample."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Half the inter-quartile range, relative to the median (a noise indicator)."""
        if len(self.samples) < 4:
            return (max(self.samples) - min(self.samples)) / 2 / self.median
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / 2 / self.median

    @property
    def per_second(self) -> float:
        return 1.0 / self.median


def _run(op: Callable[[], object], number: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        op()
    return (time.perf_counter() - start) / number


def _calibrate(op: Callable[[], object], sample_seconds: float) -> int:
    """How many runs make a sample of about ``sample_seconds`` (at least one)."""
    one = _run(op, 1)
    if one >= sample_seconds / 2:
        return 1
    number = 1
    while True:
        number *= 4
        took = _run(op, number) * number
        if took >= sample_seconds / 4:
            return max(1, round(number * sample_seconds / took))


def compare(
    ops: dict[str, Callable[[], object]],
    *,
    repeats: int,
    warmup: int,
    sample_seconds: float,
    single: bool = False,
) -> dict[str, Timing]:
    """Time several operations in rotating order; ``single`` = one run per sample (big ops)."""
    names = list(ops)
    for name in names:
        for _ in range(warmup):
            ops[name]()
    numbers = {name: 1 if single else _calibrate(ops[name], sample_seconds) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_run(ops[name], numbers[name]))
    return {name: Timing(values) for name, values in samples.items()}


# memory ------------------------------------------------------------------------------------


@dataclass(slots=True)
class MemoryRun:
    """What one fresh subprocess reported: peak-RSS growth over its post-import reading."""

    growth_bytes: int
    """Growth of ``ru_maxrss`` over the reading taken after imports."""
    base_rss_bytes: int
    peak_rss_bytes: int
    rss_at_base_bytes: int | None
    """Current RSS when the baseline reading was taken (should be close to it)."""
    hwm_growth_bytes: int | None
    """Growth of /proc/self/status VmHWM over the same span (cross-check, Linux)."""
    seconds: float
    check: str


# The launcher forks the probe from a small interpreter: a process started from a big one
# inherits the big one's peak RSS in ru_maxrss (Linux keeps it across exec).
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def probe_memory(mode: str, *args: str) -> MemoryRun:
    """Run ``benchmarks._memprobe MODE ARGS`` in a fresh interpreter; its JSON report."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _LAUNCHER,
            sys.executable,
            "-m",
            "benchmarks._memprobe",
            mode,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env=env,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {mode} failed ({done.returncode}):\n{done.stderr}")
    run = MemoryRun(**json.loads(done.stdout.strip().splitlines()[-1]))
    if run.rss_at_base_bytes is not None and run.base_rss_bytes > run.rss_at_base_bytes + 4 * MB:
        print(
            f"\nwarning: probe {mode} started with a peak RSS of {run.base_rss_bytes / MB:.0f} MB "
            f"but an RSS of {run.rss_at_base_bytes / MB:.0f} MB: ru_maxrss looks inherited",
            file=sys.stderr,
        )
    return run


# reporting ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One line of the final table."""

    case: str
    figure: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    """True / False when the row carries a target; None for figures reported for context."""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.met]


def rate(per_second: float, unit: str) -> str:
    return f"{per_second:,.0f} {unit}/s"


def millis(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms" if seconds < 0.01 else f"{seconds * 1000:,.1f} ms"


def micros(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def noise(timing: Timing) -> str:
    """`` ±n%``: half the inter-quartile range of the samples, relative to their median."""
    return f" ±{timing.spread * 100:.0f}%"


def times(ratio: float) -> str:
    return f"{ratio:.2f}x"


def table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    head = ("case", "figure", "baseline", "ratio", "target", "result")
    body = [(r.case, r.figure, r.baseline, r.ratio, r.target, r.verdict) for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(line) for line in body)])


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available
        load = float("nan")
    from lxml import etree

    import lgsp

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model() or platform.processor(),
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "load_1min": round(load, 2),
        "lxml": ".".join(map(str, etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "lgsp": lgsp.__version__,
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def write_json(path: Path, rows: list[Row], extra: dict[str, Any]) -> None:
    doc = {**extra, "rows": [asdict(r) | {"result": r.verdict} for r in rows]}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
