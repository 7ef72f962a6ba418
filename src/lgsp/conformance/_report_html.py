"""The HTML report: one self-contained page a person reads, prints or attaches to a ticket.

Inline CSS, no script, no external fetch. The results table filters by outcome with radio
buttons and CSS alone; each case opens (``<details>``) onto its purpose, checks, findings and
evidence. Every value is escaped with :func:`html.escape` after :func:`clean`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from lgsp.conformance._report_text import (
    OUTCOME_LABELS,
    clean,
    duration_text,
    one_line,
    verdict,
)
from lgsp.conformance.results import CaseResult, Check, Evidence, Report
from lgsp.findings import Finding

__all__ = ["render_html"]

_CSS = """
:root{--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;
--pass-fg:#116329;--pass-bg:#dafbe1;--fail-fg:#a40e26;--fail-bg:#ffebe9;
--error-fg:#7d4e00;--error-bg:#fff8c5;--skip-fg:#424a53;--skip-bg:#eaeef2}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:var(--bg);line-height:1.45;
font:15px/1.45 system-ui,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif}
header.top,main,footer{max-width:1200px;margin:0 auto;padding:0 24px}
header.top{padding-top:20px}header.top::after{content:"";display:block;margin-top:8px;
border-bottom:1px solid var(--line)}
h1{font-size:1.6em;margin:0 0 6px}h2{font-size:1.25em;margin:26px 0 10px}
h3{font-size:1em;margin:16px 0 6px}h4{font-size:.9em;margin:10px 0 4px;color:var(--muted)}
code,pre{font-family:ui-monospace,"Cascadia Mono",Consolas,"Noto Sans Mono",SFMono-Regular,Menlo,
"Liberation Mono",monospace;font-size:.88em}
.verdict{display:inline-block;font-weight:700;padding:4px 12px;border-radius:6px;margin:4px 0 10px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.meta dt{font-weight:600;color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
ul.counts{list-style:none;padding:0;margin:10px 0;display:flex;flex-wrap:wrap;gap:8px}
ul.counts li{padding:3px 10px;border-radius:12px;font-weight:600}
.badge{display:inline-block;min-width:4.2em;text-align:center;font-weight:700;font-size:.8em;
padding:2px 6px;border-radius:4px;letter-spacing:.03em}
.o-pass{color:var(--pass-fg);background:var(--pass-bg)}
.o-fail{color:var(--fail-fg);background:var(--fail-bg)}
.o-error{color:var(--error-fg);background:var(--error-bg)}
.o-skipped{color:var(--skip-fg);background:var(--skip-bg)}
tr.o-pass,tr.o-fail,tr.o-error,tr.o-skipped,details.case{background:none;color:inherit}
fieldset.filters{border:0;padding:0;margin:0 0 10px;display:flex;flex-wrap:wrap;
align-items:center;gap:6px 16px}
fieldset.filters legend{float:left;font-weight:600;padding:0;margin-right:4px}
fieldset.filters input{margin:0 4px 0 0;accent-color:#0969da}
table{border-collapse:collapse;width:100%;margin:6px 0}
caption{text-align:left;color:var(--muted);padding:4px 0}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
td.id{overflow-wrap:anywhere;max-width:28em}
a{color:#0550ae}a:focus-visible,summary:focus-visible,input:focus-visible{outline:2px solid
#0969da;outline-offset:2px}
details.case{border:1px solid var(--line);border-radius:6px;margin:10px 0}
details.case>summary{cursor:pointer;padding:8px 12px;background:var(--soft);border-radius:6px;
overflow-wrap:anywhere}
details.case[open]>summary{border-bottom:1px solid var(--line);border-radius:6px 6px 0 0}
details.case>div{padding:4px 14px 12px}
details.exchange{margin:6px 0;border-left:3px solid var(--line);padding-left:10px}
details.exchange>summary{cursor:pointer;overflow-wrap:anywhere}
pre{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:8px;margin:4px 0;
white-space:pre-wrap;overflow-wrap:anywhere;max-height:28em;overflow:auto}
.muted{color:var(--muted)}.ok{color:var(--pass-fg);font-weight:700}
.bad{color:var(--fail-fg);font-weight:700}
.sev-error{color:var(--fail-fg);font-weight:700}.sev-warning{color:var(--error-fg);font-weight:700}
footer{color:var(--muted);font-size:.85em;padding-top:16px;padding-bottom:24px}
main:has(#show-problems:checked) .results :is(tr.o-pass,tr.o-skipped,details.case.o-pass,
details.case.o-skipped),
main:has(#show-pass:checked) .results :is(table.summary>tbody>tr:not(.o-pass),
details.case:not(.o-pass)),
main:has(#show-skipped:checked) .results :is(table.summary>tbody>tr:not(.o-skipped),
details.case:not(.o-skipped)){display:none}
@media print{fieldset.filters,.back{display:none}body{font-size:10pt}pre{max-height:none}
a{color:inherit;text-decoration:none}tr,pre{break-inside:avoid}}
"""


def _e(value: object) -> str:
    """Escaped for HTML text and attribute values, unsafe characters made visible."""
    return html.escape(clean(value), quote=True)


def _badge(outcome: str) -> str:
    return f'<span class="badge o-{outcome}">{OUTCOME_LABELS[outcome]}</span>'


def _dl(pairs: Iterable[tuple[str, object]], cls: str = "meta") -> str:
    items = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs if v not in (None, "", {}, [])
    )
    return f'<dl class="{cls}">{items}</dl>' if items else ""


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


_FACT_NAMES = {"sha256": "SHA-256", "size": "Size (bytes)"}


def _fact_name(key: str) -> str:
    return _FACT_NAMES.get(key) or key.replace("_", " ").capitalize()


def _short_title(r: CaseResult) -> str:
    """The title without the id when it repeats it (a message's title names its file)."""
    if r.id and r.id in r.title:
        return r.title.replace(r.id, "").strip(" :-") or r.title
    return r.title


def _header(report: Report) -> str:
    counts = report.counts()
    started = report.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    state = "o-pass" if report.ok else "o-fail"
    meta = [
        ("Target", report.target),
        ("Profile", report.profile),
        ("lgsp version", report.lgsp_version),
        ("Started", started),
        ("Duration", duration_text(report.duration())),
        *((_fact_name(k), _value(v)) for k, v in report.settings.items()),
    ]
    chips = "".join(
        f'<li class="o-{outcome}">{n} {OUTCOME_LABELS[outcome].lower()}</li>'
        for outcome, n in counts.items()
    )
    return (
        f'<header class="top"><h1>{_e(report.title)}</h1>'
        f'<p class="verdict {state}" role="status">{_e(verdict(report))}</p>'
        f"{_dl(meta)}"
        f'<ul class="counts" aria-label="Counts">{chips}</ul></header>'
    )


def _filters(report: Report) -> str:
    counts = report.counts()
    options = [
        ("all", "All", len(report.results)),
        ("problems", "Failed or errored", counts["fail"] + counts["error"]),
        ("pass", "Passed", counts["pass"]),
        ("skipped", "Skipped", counts["skipped"]),
    ]
    radios = "".join(
        f'<label><input type="radio" name="show" value="{key}" id="show-{key}"'
        f"{' checked' if key == 'all' else ''}>{text} ({n})</label>"
        for key, text, n in options
    )
    # Filtering is CSS alone (main:has(:checked)); a browser without :has shows every row.
    return f'<fieldset class="filters"><legend>Show</legend>{radios}</fieldset>'


def _table(report: Report) -> str:
    rows = []
    for i, r in enumerate(report.results, 1):
        rows.append(
            f'<tr class="o-{r.outcome}"><td class="num">{i}</td>'
            f'<td class="id"><a href="#case-{i}"><code>{_e(r.id)}</code></a></td>'
            f"<td>{_e(_short_title(r))}</td><td>{_e(', '.join(r.rules))}</td>"
            f"<td>{_badge(r.outcome)}</td>"
            f'<td class="num">{_e(duration_text(r.duration))}</td></tr>'
        )
    return (
        '<table class="summary">'
        "<caption>Each result; the ids link to their details below.</caption>"
        '<thead><tr class="head"><th scope="col" class="num">#</th><th scope="col">Case</th>'
        '<th scope="col">Title</th><th scope="col">Rules</th><th scope="col">Outcome</th>'
        '<th scope="col" class="num">Duration</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _checks(checks: list[Check]) -> str:
    if not checks:
        return ""
    rows = "".join(
        f"<tr><td>{_e(c.step)}</td><td>{_e(c.expectation)}</td>"
        f'<td class="{"ok" if c.passed else "bad"}">{"held" if c.passed else "FAILED"}</td>'
        f"<td>{_e(c.detail)}</td></tr>"
        for c in checks
    )
    return (
        "<h3>Checks</h3><table><thead><tr><th scope='col'>Step</th><th scope='col'>Expectation"
        "</th><th scope='col'>Result</th><th scope='col'>Detail</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _findings(findings: list[Finding]) -> str:
    if not findings:
        return ""
    rows = "".join(
        f'<tr><td class="sev-{f.severity}">{_e(f.severity)}</td><td><code>{_e(f.rule)}</code>'
        f"</td><td>{_e(f.location)}</td><td>{_e(f.message)}</td></tr>"
        for f in findings
    )
    return (
        f"<h3>Findings ({len(findings)})</h3><table><thead><tr><th scope='col'>Severity</th>"
        "<th scope='col'>Rule</th><th scope='col'>Location</th><th scope='col'>Message</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _message_block(first_line: str, headers: Mapping[str, str], body: str | None) -> str:
    lines = [first_line, *(f"{k}: {v}" for k, v in headers.items())]
    text = "\n".join(lines) + ("\n\n" + body if body else "")
    return f"<pre>{_e(text)}</pre>"


def _evidence(evidence: list[Evidence], *, open_all: bool = False) -> str:
    if not evidence:
        return ""
    count = f"{len(evidence)} exchange{'' if len(evidence) == 1 else 's'}"
    parts = [f"<h3>Evidence ({count})</h3>"]
    for ev in evidence:
        answer = str(ev.status) if ev.status is not None else "no answer"
        title = f"{ev.step}: {ev.method} {ev.url} → {answer} · {ev.duration_ms:.0f} ms"
        inner = [
            "<h4>Request</h4>",
            _message_block(f"{ev.method} {ev.url}", ev.request_headers, ev.request_body),
        ]
        if ev.status is not None:
            inner += [
                "<h4>Response</h4>",
                _message_block(f"HTTP {ev.status}", ev.response_headers, ev.response_body),
            ]
        if ev.error:
            inner += ["<h4>Error</h4>", f"<pre>{_e(ev.error)}</pre>"]
        summary = f"<summary>{_e(one_line(title))}</summary>"
        opened = " open" if open_all else ""
        parts.append(f'<details class="exchange"{opened}>{summary}{"".join(inner)}</details>')
    return "".join(parts)


def _case(index: int, r: CaseResult) -> str:
    facts = [
        ("Rules", ", ".join(r.rules)),
        ("Area", r.area if r.area != r.facts.get("kind") else ""),
        ("Duration", duration_text(r.duration)),
        *((_fact_name(k), _value(v)) for k, v in r.facts.items()),
    ]
    body = [
        f"<p>{_e(r.purpose)}</p>" if r.purpose else "",
        f'<p class="bad">{_e(r.message)}</p>' if r.message else "",
        _dl(facts),
        _checks(r.checks),
        _findings(r.findings),
        # A case that did not pass shows its exchanges (when few), so that they print too.
        _evidence(r.evidence, open_all=r.outcome in ("fail", "error") and len(r.evidence) <= 3),
        '<p class="back"><a href="#results">Back to the results table</a></p>',
    ]
    opened = "" if r.outcome in ("pass", "skipped") else " open"
    return (
        f'<details class="case o-{r.outcome}" id="case-{index}"{opened}><summary>'
        f"{_badge(r.outcome)} <code>{_e(r.id)}</code> {_e(_short_title(r))}</summary>"
        f"<div>{''.join(body)}</div></details>"
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    cases = "".join(_case(i, r) for i, r in enumerate(report.results, 1))
    finished = report.finished_at or report.started_at
    state = "passed" if report.ok else "FAILED"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="lgsp {_e(report.lgsp_version)}">'
        f"<title>{_e(report.title)}: {state}</title><style>{_CSS}</style></head><body>"
        f"{_header(report)}<main>"
        f'<h2 id="results">Results ({len(report.results)})</h2>{_filters(report)}'
        f'<div class="results">{_table(report)}<h2>Details</h2>{cases}</div></main>'
        f"<footer>Generated by lgsp {_e(report.lgsp_version)} on "
        f"{_e(finished.strftime('%Y-%m-%d %H:%M:%S %Z').strip())}. Failed and errored cases "
        "are open; the others open on a click.</footer></body></html>\n"
    )
