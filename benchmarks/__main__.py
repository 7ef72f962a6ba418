"""``python -m benchmarks [--quick] [--only NAME ...] [--json FILE]``.

Builds the inputs in a temporary directory, runs the cases, prints a table of figures against
their baselines and targets. Exit code 0 whether or not targets are met (they are reported);
non-zero only when the benchmark itself fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import _harness, _inputs
from benchmarks.dossiers import CASES as DOSSIER_CASES
from benchmarks.edxml import CASES as EDXML_CASES
from benchmarks.edxml import HEADER_TARGET_PER_S, REFERENCE_XSD_PER_S
from benchmarks.outbox import CASES as OUTBOX_CASES
from benchmarks.registry import CASES as REGISTRY_CASES
from benchmarks.sandbox_load import CASES as SANDBOX_LOAD_CASES
from benchmarks.signatures import CASES as SIGNATURE_CASES
from benchmarks.soap import CASES as SOAP_CASES
from benchmarks.transports import CASES as TRANSPORT_CASES

CASES = {
    **EDXML_CASES,
    **SIGNATURE_CASES,
    **REGISTRY_CASES,
    **DOSSIER_CASES,
    **TRANSPORT_CASES,
    **SOAP_CASES,
    **OUTBOX_CASES,
    **SANDBOX_LOAD_CASES,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="lgsp benchmarks: edXML read/validate/write against lxml baselines, "
        "XML-DSig sign/verify against signxml and the minimal work.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats (a CI smoke run; noisier figures)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these cases (repeatable or comma-separated): {', '.join(CASES)}",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    return parser.parse_args(argv)


def _selected(only: list[str] | None) -> list[str]:
    if not only:
        return list(CASES)
    wanted = [name.strip() for item in only for name in item.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    return [name for name in CASES if name in wanted]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        for name, fn in CASES.items():
            print(f"{name:14} {(fn.__doc__ or '').strip()}")
        return 0
    names = _selected(args.only)
    settings = _harness.Settings.quick() if args.quick else _harness.Settings()
    info = _harness.machine()
    print(
        f"lgsp {info['lgsp']} · Python {info['python']} · lxml {info['lxml']} "
        f"(libxml2 {info['libxml2']}) · {info['processor']} · "
        f"{info['cpus_usable']}/{info['cpus']} CPUs usable · load {info['load_1min']}"
    )
    print(
        f"{'quick' if args.quick else 'full'} run: medians of {settings.repeats} samples "
        f"(~{settings.sample_seconds * 1000:.0f} ms each) for header cases, "
        f"{settings.big_repeats} runs for 10 MB cases, {settings.memory_runs} fresh "
        "process(es) per memory figure; ratios = lgsp time / baseline time, same run."
    )
    started = time.perf_counter()
    rows: list[_harness.Row] = []
    with tempfile.TemporaryDirectory(prefix="lgsp-bench-") as tmp:
        t0 = time.perf_counter()
        inputs = _inputs.build(Path(tmp))
        print(
            f"inputs built in {time.perf_counter() - t0:.1f} s: header-only package "
            f"{len(inputs.header_bytes):,} B; corpus header "
            f"{f'{len(inputs.corpus_bytes):,} B' if inputs.corpus_bytes else 'absent'}; "
            f"attachment {_inputs.ATTACHMENT_BYTES:,} B → ZIP {inputs.zip_len:,} B → "
            f"package file {inputs.big_bytes_len:,} B"
        )
        for name in names:
            t0 = time.perf_counter()
            print(f"[{name}] ...", end="", flush=True)
            case_rows = CASES[name](inputs, settings)
            print(f" {time.perf_counter() - t0:.1f} s")
            for row in case_rows:
                row.data["case_id"] = name
            rows.extend(case_rows)
    elapsed = time.perf_counter() - started
    print()
    print(_harness.table(rows))
    print()
    targets = [r for r in rows if r.met is not None]
    met = [r for r in targets if r.met]
    print(f"targets met: {len(met)} of {len(targets)}")
    for row in targets:
        print(f"  {row.verdict}  {row.case.strip()}: {row.figure} (target {row.target})")
    header = next((r for r in targets if r.data.get("case_id") == "header-read"), None)
    if header is not None:
        implied = HEADER_TARGET_PER_S / REFERENCE_XSD_PER_S
        print(
            f"  note: with lxml parse+XSD at the reference {REFERENCE_XSD_PER_S:,}/s, the "
            f"{HEADER_TARGET_PER_S:,}/s target means a time ratio ≤ {1 / implied:.1f}x; "
            f"measured {header.data['time_ratio']:.2f}x (≈ "
            f"{REFERENCE_XSD_PER_S / header.data['time_ratio']:,.0f}/s at the reference speed)"
        )
    spreads = [v for r in rows for k, v in r.data.items() if k.endswith("spread")]
    load_end = _harness.machine()["load_1min"]
    if spreads and (max(spreads) > 0.1 or max(info["load_1min"], load_end) > 1.0):
        print(
            f"warning: noisy run (load average {info['load_1min']} at start, {load_end} at end; "
            f"sample spread up to ±{max(spreads) * 100:.0f}%): other work shares this machine's "
            "cores; ratios (same-run, interleaved) are more trustworthy than absolute figures"
        )
    print(f"total {elapsed:.1f} s")
    if args.json:
        _harness.write_json(
            args.json,
            rows,
            {
                "machine": info,
                "settings": {
                    "quick": args.quick,
                    "repeats": settings.repeats,
                    "big_repeats": settings.big_repeats,
                    "memory_runs": settings.memory_runs,
                    "sample_seconds": settings.sample_seconds,
                },
                "inputs": {
                    "header_bytes": len(inputs.header_bytes),
                    "corpus_header_bytes": len(inputs.corpus_bytes or b""),
                    "attachment_bytes": _inputs.ATTACHMENT_BYTES,
                    "zip_bytes": inputs.zip_len,
                    "package_file_bytes": inputs.big_bytes_len,
                },
                "targets_met": len(met),
                "targets": len(targets),
                "seconds": elapsed,
            },
        )
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
