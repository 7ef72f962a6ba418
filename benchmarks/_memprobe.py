"""One memory measurement in a fresh interpreter: ``python -m benchmarks._memprobe MODE ARGS``.

Everything either side needs is imported first; then the peak RSS is read (the baseline
reading: after imports, with nothing built), the job runs once, and the peak is read again.
The growth of the peak (``ru_maxrss``) is what the job cost. Prints one JSON line.

Linux carries ``ru_maxrss`` across ``exec`` from the address space that spawned the process,
so a probe started straight from the (large) benchmark process would report the parent's
peak and hide its own growth; :func:`benchmarks._harness.probe_memory` therefore starts it
through a small launcher interpreter. The growth of ``VmHWM`` (the peak of this process's own
address space, which exec resets) is reported beside it as a cross-check.

Modes: ``lgsp-read PACKAGE``, ``baseline-read PACKAGE``, ``lgsp-write ATTACHMENT OUT``,
``baseline-write ATTACHMENT OUT``.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lgsp
from benchmarks._inputs import big_package_from
from benchmarks.edxml import baseline_read, baseline_write, baseline_write_template


def _peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    factor = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * factor


def _proc_status() -> dict[str, int]:
    """VmHWM / VmRSS of this process's own address space (Linux), in bytes; {} elsewhere."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) * 1024
    return out


def _lgsp_read(package: str) -> str:
    pkg = lgsp.read_package(Path(package))
    findings = lgsp.validate(pkg, profile="lenient", deep=True)
    digest = pkg.attachments[0].sha256
    pkg.close()
    return f"{len(findings)} findings, sha256 {digest[:16]}"


def _baseline_read(package: str) -> str:
    data = baseline_read(Path(package))
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def _lgsp_write(attachment: str, out: str) -> Callable[[], str]:
    # The package model (a few KB) is input, not work: built before the baseline reading.
    pkg = big_package_from(Path(attachment))
    dest = Path(out)

    def job() -> str:
        lgsp.write_package(pkg, dest)
        return f"{dest.stat().st_size} bytes"

    return job


def _baseline_write(attachment: str, out: str) -> Callable[[], str]:
    pkg = big_package_from(Path(attachment))
    root, cte = baseline_write_template(pkg)
    name = pkg.attachments[0].name
    source, dest = Path(attachment), Path(out)

    def job() -> str:
        baseline_write(root, cte, name, source, dest)
        return f"{dest.stat().st_size} bytes"

    return job


MODES: dict[str, Callable[..., Callable[[], str]]] = {
    "lgsp-read": lambda package: lambda: _lgsp_read(package),
    "baseline-read": lambda package: lambda: _baseline_read(package),
    "lgsp-write": _lgsp_write,
    "baseline-write": _baseline_write,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in MODES:
        print(f"usage: python -m benchmarks._memprobe {{{','.join(MODES)}}} ARGS", file=sys.stderr)
        return 2
    job = MODES[argv[0]](*argv[1:])
    status = _proc_status()
    base = _peak_rss_bytes()
    start = time.perf_counter()
    check = job()
    seconds = time.perf_counter() - start
    peak = _peak_rss_bytes()
    after = _proc_status()
    report = {
        "growth_bytes": peak - base,
        "base_rss_bytes": base,
        "peak_rss_bytes": peak,
        "rss_at_base_bytes": status.get("VmRSS"),
        "hwm_growth_bytes": after["VmHWM"] - status["VmHWM"] if status else None,
        "seconds": seconds,
        "check": check,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
