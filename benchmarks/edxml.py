"""edXML package benchmarks: read + validate and write, header-only and with a 10 MB attachment.

Each case names its baseline — the same work done with plain lxml and the standard library,
measured in the same run — and the target the issue sets:

* ``header-read``: ``read_package(bytes)`` + ``validate(profile="lenient")`` of a header-only
  package, against ``lxml.etree.fromstring`` + XSD validation; target ≥ 5,000 packages/s.
* ``header-write``: ``package_to_bytes`` with and without ``validate_first``, against
  ``lxml.etree.tostring`` of the same tree.
* ``big-read``: ``read_package(path)`` + ``validate(deep=True)`` of a package carrying a
  10,000,000-byte attachment, against reading the file, parsing it whole with ``huge_tree``,
  Base64-decoding the attachment's text and inflating its ZIP member; target ≤ 1.5x the time.
* ``big-memory``: growth of peak RSS for the same two jobs, each in a fresh interpreter;
  target: lgsp grows by less than the attachment (10 MB), where the baseline grows by several
  times it. The writes are probed too, for context.
* ``big-write``: ``write_package(pkg, path)`` with the attachment read from a path, against
  zipping, Base64-encoding and serialising the tree in memory, then writing the bytes.
"""

from __future__ import annotations

import base64
import io
import statistics
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from lxml import etree

import lgsp
from benchmarks._harness import (
    MB,
    Row,
    Settings,
    compare,
    micros,
    millis,
    noise,
    probe_memory,
    rate,
    times,
)
from benchmarks._inputs import ATTACHMENT_BYTES, EDXML_NS, Inputs, big_package
from lgsp.documents import WriteOptions, build_tree
from lgsp.documents.validation import load_schema

HEADER_TARGET_PER_S = 5_000
REFERENCE_XSD_PER_S = 11_000
"""lxml parse + XSD of a header-only package on the standard machine (the issue's figure)."""
BIG_READ_TARGET_RATIO = 1.5
_CTE = f"{{{EDXML_NS}}}ContentTransferEncoded"


# baselines (shared with the memory probes) -------------------------------------------------


def baseline_read(path: Path) -> bytes:
    """Plain lxml + stdlib: parse the whole file, decode the Base64 text, inflate the ZIP."""
    data = path.read_bytes()
    root = etree.fromstring(data, etree.XMLParser(huge_tree=True))
    cte = root.find(f".//{_CTE}")
    if cte is None or cte.text is None:
        raise RuntimeError("no ContentTransferEncoded text in the package")
    payload = base64.b64decode(cte.text)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return archive.read(archive.infolist()[0])


def baseline_write_template(pkg: lgsp.DocumentPackage) -> tuple[etree._Element, etree._Element]:
    """The tree the baseline writer fills: the package's own, with an empty attachment."""
    root = build_tree(pkg)
    cte = root.find(f".//{_CTE}")
    if cte is None:
        raise RuntimeError("the package has no attachment")
    return root, cte


def baseline_write(
    root: etree._Element, cte: etree._Element, name: str, source: Path, dest: Path
) -> None:
    """Plain lxml + stdlib: zip in memory, Base64-encode, set the text, serialise, write."""
    buffer = io.BytesIO()
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", compresslevel=6) as archive:
        archive.writestr(info, source.read_bytes())
    cte.text = base64.b64encode(buffer.getvalue()).decode("ascii")
    try:
        dest.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    finally:
        cte.text = None


# cases ---------------------------------------------------------------------------------------


def _read_validate(data: bytes) -> Callable[[], object]:
    def op() -> object:
        pkg = lgsp.read_package(data)
        findings = lgsp.validate(pkg, profile="lenient")
        pkg.close()
        return findings

    return op


def _xsd(data: bytes) -> Callable[[], object]:
    schema = load_schema("document")

    def op() -> object:
        return schema.validate(etree.fromstring(data))

    return op


def header_read(inputs: Inputs, settings: Settings) -> list[Row]:
    """Header-only read_package(bytes) + validate(lenient) vs lxml parse + XSD."""
    rows = _header_read_one("built in code", inputs.header_bytes, settings, target=True)
    if inputs.corpus_bytes is not None:
        label = "VXP kit edoc_update w/o attachment"
        rows += _header_read_one(label, inputs.corpus_bytes, settings, target=False)
    return rows


def _header_read_one(label: str, data: bytes, settings: Settings, *, target: bool) -> list[Row]:
    """One input; with ``target``, also the split between read_package and validate."""
    with lgsp.read_package(data) as pkg:
        findings = lgsp.validate(pkg, profile="lenient")
    ops: dict[str, Callable[[], object]] = {"lgsp": _read_validate(data), "baseline": _xsd(data)}
    read = lgsp.read_package(data)
    if target:
        ops["read_package only"] = lambda: lgsp.read_package(data).close()
        ops["validate only"] = lambda: lgsp.validate(read, profile="lenient")
    try:
        t = compare(
            ops,
            repeats=settings.repeats,
            warmup=settings.warmup,
            sample_seconds=settings.sample_seconds,
        )
    finally:
        read.close()
    ours, base = t["lgsp"], t["baseline"]
    rows = [
        Row(
            case=f"header read+validate, {label} ({len(data):,} B)",
            figure=f"{rate(ours.per_second, 'pkg')}{noise(ours)} ({micros(ours.median)})",
            baseline=f"{rate(base.per_second, 'pkg')}{noise(base)} lxml parse+XSD",
            ratio=times(ours.median / base.median),
            target=f"≥ {HEADER_TARGET_PER_S:,}/s" + ("" if target else " (ref.)"),
            met=ours.per_second >= HEADER_TARGET_PER_S if target else None,
            data={
                "input": label,
                "input_bytes": len(data),
                "findings": len(findings),
                "error_findings": sum(f.severity == "error" for f in findings),
                "finding_rules": sorted({f.rule for f in findings}),
                "lgsp_per_s": ours.per_second,
                "lgsp_us": ours.median * 1e6,
                "lgsp_spread": ours.spread,
                "baseline_per_s": base.per_second,
                "baseline_us": base.median * 1e6,
                "baseline_spread": base.spread,
                "time_ratio": ours.median / base.median,
            },
        )
    ]
    for part in ("read_package only", "validate only") if target else ():
        tp = t[part]
        rows.append(
            Row(
                case=f"  of which {part}",
                figure=f"{rate(tp.per_second, 'pkg')}{noise(tp)} ({micros(tp.median)})",
                baseline="(same baseline)",
                ratio=times(tp.median / base.median),
                target="",
                met=None,
                data={"per_s": tp.per_second, "us": tp.median * 1e6, "spread": tp.spread},
            )
        )
    return rows


def header_write(inputs: Inputs, settings: Settings) -> list[Row]:
    """Header-only package_to_bytes (with/without validate_first) vs lxml tostring."""
    pkg = inputs.header_pkg
    tree = etree.fromstring(inputs.header_bytes)
    checked, unchecked = WriteOptions(validate_first=True), WriteOptions(validate_first=False)
    t = compare(
        {
            "validate_first": lambda: lgsp.package_to_bytes(pkg, options=checked),
            "no validate": lambda: lgsp.package_to_bytes(pkg, options=unchecked),
            "baseline": lambda: etree.tostring(
                tree, xml_declaration=True, encoding="UTF-8", pretty_print=True
            ),
        },
        repeats=settings.repeats,
        warmup=settings.warmup,
        sample_seconds=settings.sample_seconds,
    )
    base = t["baseline"]
    rows = []
    for name in ("validate_first", "no validate"):
        ours = t[name]
        rows.append(
            Row(
                case=f"header write package_to_bytes ({name})",
                figure=f"{rate(ours.per_second, 'pkg')}{noise(ours)} ({micros(ours.median)})",
                baseline=f"{rate(base.per_second, 'pkg')}{noise(base)} lxml tostring",
                ratio=times(ours.median / base.median),
                target="",
                met=None,
                data={
                    "lgsp_per_s": ours.per_second,
                    "lgsp_us": ours.median * 1e6,
                    "lgsp_spread": ours.spread,
                    "baseline_per_s": base.per_second,
                    "baseline_us": base.median * 1e6,
                    "time_ratio": ours.median / base.median,
                },
            )
        )
    return rows


def big_read(inputs: Inputs, settings: Settings) -> list[Row]:
    """10 MB read_package(path) + validate(deep) vs parse + b64decode + inflate."""
    path = inputs.big_path
    with lgsp.read_package(path) as pkg:
        findings = lgsp.validate(pkg, profile="lenient", deep=True)
        if pkg.attachments[0].sha256 != inputs.attachment_sha256:
            raise RuntimeError("lgsp read back other bytes than were attached")
    import hashlib

    if hashlib.sha256(baseline_read(path)).hexdigest() != inputs.attachment_sha256:
        raise RuntimeError("the baseline read back other bytes than were attached")

    def ours_op() -> object:
        pkg = lgsp.read_package(path)
        found = lgsp.validate(pkg, profile="lenient", deep=True)
        pkg.close()
        return found

    def read_only() -> object:
        pkg = lgsp.read_package(path)
        pkg.close()
        return pkg

    t = compare(
        {"lgsp": ours_op, "baseline": lambda: baseline_read(path), "read only": read_only},
        repeats=settings.big_repeats,
        warmup=1,
        sample_seconds=0,
        single=True,
    )
    ours, base, ro = t["lgsp"], t["baseline"], t["read only"]
    ratio = ours.median / base.median
    return [
        Row(
            case=f"10 MB read+validate deep ({inputs.big_bytes_len / MB:.1f} MB file)",
            figure=millis(ours.median) + noise(ours),
            baseline=f"{millis(base.median)}{noise(base)} parse+b64decode+inflate",
            ratio=times(ratio),
            target=f"≤ {BIG_READ_TARGET_RATIO}x",
            met=ratio <= BIG_READ_TARGET_RATIO,
            data={
                "file_bytes": inputs.big_bytes_len,
                "zip_bytes": inputs.zip_len,
                "attachment_bytes": ATTACHMENT_BYTES,
                "findings": len(findings),
                "lgsp_ms": ours.median * 1e3,
                "lgsp_spread": ours.spread,
                "baseline_ms": base.median * 1e3,
                "baseline_spread": base.spread,
                "time_ratio": ratio,
                "lgsp_samples_ms": [s * 1e3 for s in ours.samples],
                "baseline_samples_ms": [s * 1e3 for s in base.samples],
            },
        ),
        Row(
            case="  of which read_package only (no inflate, no CRC)",
            figure=millis(ro.median) + noise(ro),
            baseline="(same baseline)",
            ratio=times(ro.median / base.median),
            target="",
            met=None,
            data={"ms": ro.median * 1e3},
        ),
    ]


def big_memory(inputs: Inputs, settings: Settings) -> list[Row]:
    """Peak-RSS growth of the 10 MB read and write, lgsp vs baseline, fresh processes."""
    out = inputs.workdir / "probe-out.edxml"
    runs = {
        mode: [probe_memory(mode, *args) for _ in range(settings.memory_runs)]
        for mode, args in (
            ("lgsp-read", (str(inputs.big_path),)),
            ("baseline-read", (str(inputs.big_path),)),
            ("lgsp-write", (str(inputs.attachment_path), str(out))),
            ("baseline-write", (str(inputs.attachment_path), str(out))),
        )
    }
    growth = {
        mode: statistics.median(r.growth_bytes for r in items) for mode, items in runs.items()
    }
    rows = []
    for kind in ("read", "write"):
        ours, base = growth[f"lgsp-{kind}"], growth[f"baseline-{kind}"]
        data = {
            "lgsp_growth_mb": ours / MB,
            "baseline_growth_mb": base / MB,
            "lgsp_runs": [asdict(r) for r in runs[f"lgsp-{kind}"]],
            "baseline_runs": [asdict(r) for r in runs[f"baseline-{kind}"]],
        }
        rows.append(
            Row(
                case=f"10 MB {kind}: peak RSS growth, lgsp (fresh process)",
                figure=f"{ours / MB:.1f} MB ({ours / ATTACHMENT_BYTES:.2f}x attachment)",
                baseline=f"{base / MB:.1f} MB ({base / ATTACHMENT_BYTES:.1f}x attachment)",
                ratio=times(ours / base) if base > 0 else "—",
                target=f"< {ATTACHMENT_BYTES / MB:.0f} MB" if kind == "read" else "",
                met=ours < ATTACHMENT_BYTES if kind == "read" else None,
                data=data,
            )
        )
        if kind == "read":
            rows.append(
                Row(
                    case="10 MB read: peak RSS growth, baseline (fresh process)",
                    figure=f"{base / MB:.1f} MB",
                    baseline="",
                    ratio=f"{base / ATTACHMENT_BYTES:.1f}x att.",
                    target="several x 10 MB",
                    met=None,
                    data={"baseline_growth_mb": base / MB},
                )
            )
    return rows


def big_write(inputs: Inputs, settings: Settings) -> list[Row]:
    """10 MB write_package(pkg, path) vs zip + b64encode + tostring in memory."""
    pkg = big_package(inputs)
    ours_path = inputs.workdir / "write-lgsp.edxml"
    base_path = inputs.workdir / "write-baseline.edxml"
    root, cte = baseline_write_template(pkg)
    name = pkg.attachments[0].name
    t = compare(
        {
            "lgsp": lambda: lgsp.write_package(pkg, ours_path),
            "baseline": lambda: baseline_write(root, cte, name, inputs.attachment_path, base_path),
        },
        repeats=settings.big_repeats,
        warmup=1,
        sample_seconds=0,
        single=True,
    )
    with lgsp.read_package(ours_path) as back:
        if back.attachments[0].sha256 != inputs.attachment_sha256:
            raise RuntimeError("write_package wrote other bytes than were attached")
    ours, base = t["lgsp"], t["baseline"]
    return [
        Row(
            case="10 MB write_package(path) (validate_first), attachment from a path",
            figure=millis(ours.median) + noise(ours),
            baseline=f"{millis(base.median)}{noise(base)} zip+b64encode+tostring",
            ratio=times(ours.median / base.median),
            target="",
            met=None,
            data={
                "lgsp_ms": ours.median * 1e3,
                "lgsp_spread": ours.spread,
                "baseline_ms": base.median * 1e3,
                "baseline_spread": base.spread,
                "time_ratio": ours.median / base.median,
                "lgsp_file_bytes": ours_path.stat().st_size,
                "baseline_file_bytes": base_path.stat().st_size,
            },
        )
    ]


CASES: dict[str, Callable[[Inputs, Settings], list[Row]]] = {
    "header-read": header_read,
    "header-write": header_write,
    "big-read": big_read,
    "big-memory": big_memory,
    "big-write": big_write,
}
