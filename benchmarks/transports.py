"""HTTP transport benchmarks: lgsp's transports against the raw clients, same run, same server.

A small keep-alive HTTP/1.1 server runs in a separate process (so that the client measured has
a core to itself on a two-core machine) and answers every POST with the VXP-shaped JSON
``{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[]}``. Measured, as calls per second:

* ``sync``, one call at a time: lgsp :class:`~lgsp.transports.http.HttpTransport` driven
  by :func:`lgsp.transports.flow.run` of a one-request flow (the target: no slower than raw
  httpx, within 5% of noise), the same transport called directly, raw ``httpx.Client.post``,
  stdlib ``http.client`` on one kept-alive connection (the floor), and a whole
  ``lgsp.Client.documents.received()`` (VXP signing, the flows, the call log rendered as JSON
  into ``os.devnull``) for context.
* ``async``, 100 calls in flight: lgsp :class:`~lgsp.transports.aiohttp.AiohttpTransport`
  via :func:`~lgsp.transports.flow.run_async` (the target: at least half of raw aiohttp),
  lgsp :class:`~lgsp.transports.http.AsyncHttpxTransport` (on httpx's own pool, and on
  ``httpx_aiohttp.AiohttpTransport``), raw ``httpx.AsyncClient``, raw
  ``aiohttp.ClientSession``, and a whole ``lgsp.AsyncClient.documents.received()``.

Run alone with ``python -m benchmarks.transports [--quick]``; :data:`CASES` plugs it into
``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks._harness import Row, Settings, Timing, compare, rate, times
from benchmarks._inputs import Inputs
from lgsp.transports.aiohttp import AiohttpTransport
from lgsp.transports.base import Request, Response
from lgsp.transports.flow import run, run_async
from lgsp.transports.http import AsyncHttpxTransport, HttpTransport

BODY = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[]}'
REQUEST_BODY = b'{"from":"000.00.00.G22","docId":"2024/05/02,1234/VPCP-TTDT"}'
HEADERS = (("Content-Type", "application/json"), ("lgspaccesstoken", "bench-token"))
CONCURRENCY = 100
SYNC_TARGET_RATIO = 1.0
"""lgsp sync calls/s ÷ raw httpx calls/s, at least (ratios within ±5% are noise)."""
SYNC_NOISE = 0.05
ASYNC_TARGET_RATIO = 0.5
"""lgsp async calls/s ÷ raw aiohttp calls/s at 100 concurrent calls, at least."""


# the server, in its own process --------------------------------------------------------------

_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


class _Answer(asyncio.Protocol):
    """Answers each complete request (head plus Content-Length bytes) with the fixed body."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        answers = 0
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = buffer[:end].lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else None])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            answers += 1
        self.buffer = buffer
        if answers:
            self.transport.write(_RESPONSE * answers)


def serve_forever() -> None:
    """Run the answering server on a free loopback port; print the port, then serve."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Answer, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.contextmanager
def server_process() -> Iterator[int]:
    """Run the answering server in a fresh interpreter; yield its port."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.transports", "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    try:
        line = process.stdout.readline() if process.stdout is not None else ""
        if not line.strip().isdigit():
            raise RuntimeError(f"the benchmark server did not start (it said {line!r})")
        yield int(line)
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


# the sync side --------------------------------------------------------------------------------


def _one_call(request: Request) -> Generator[Request, Response, bytes]:
    response = yield request
    return response.content


def sync_ops(url: str, port: int, stack: contextlib.ExitStack) -> dict[str, Callable[[], object]]:
    request = Request("POST", url, headers=HEADERS, content=REQUEST_BODY)
    transport = stack.enter_context(HttpTransport())
    client = stack.enter_context(httpx.Client())
    conn = http.client.HTTPConnection("127.0.0.1", port)
    stack.callback(conn.close)
    headers = dict(HEADERS)

    def lgsp_flow() -> object:
        return run(_one_call(request), transport)

    def lgsp_handle() -> object:
        return transport.handle(request).content

    def raw_httpx() -> object:
        return client.post(url, content=REQUEST_BODY, headers=headers).content

    def stdlib() -> object:
        conn.request("POST", "/", REQUEST_BODY, headers)
        return conn.getresponse().read()

    ops = {
        "lgsp HttpTransport, flow.run": lgsp_flow,
        "lgsp HttpTransport.handle": lgsp_handle,
        "raw httpx.Client.post": raw_httpx,
        "http.client keep-alive": stdlib,
    }
    same_call = _vxp_call_headers(url)
    if same_call is not None:
        call_headers, call_body = same_call
        call_url = url.rstrip("/") + "/getReceivedEdocList"

        def raw_httpx_same_call() -> object:
            return client.post(call_url, content=call_body, headers=call_headers).content

        ops["raw httpx.Client.post, the same VXP call"] = raw_httpx_same_call
    for label, log_json in (("JSON call log", True), ("default logging", False)):
        lgsp_client = _full_client(url, stack, asynchronous=False, log_json=log_json)
        if lgsp_client is not None:
            stack.callback(lgsp_client.close)
            ops[f"lgsp Client.documents.received(), {label}"] = lgsp_client.documents.received
    return ops


def _vxp_call_headers(url: str) -> tuple[dict[str, str], bytes] | None:
    """The headers and body of the full client's call (``getReceivedEdocList``, signed), so
    that raw httpx and aiohttp can send the same call: the fair peer of a whole client call,
    since fourteen signed headers cost every HTTP stack more than two."""
    try:
        from lgsp.clients import Client, VxpCodec, VxpService
        from lgsp.transports import MockTransport, Response, VxpSigning
    except ImportError:
        return None
    seen: list[Any] = []

    def capture(request: Any) -> Any:
        seen.append(request)
        return Response(200, content=b'{"status":"OK","ErrorCode":"0","data":[]}')

    service = VxpService(VxpCodec(url), [VxpSigning("vxp.saas.03", "bench-secret")])
    with Client(documents=service, transport=MockTransport(capture)) as client:
        client.documents.received()
    request = seen[0]
    return dict(request.headers), bytes(request.content)


def _full_client(url: str, stack: Any, *, asynchronous: bool, log_json: bool = True) -> Any:
    """A signed VXP client (``lgsp.Client`` or ``AsyncClient``) on ``url``, or None while the
    package has none; ``documents.received()`` reads the server's empty list. Its call log is
    rendered as JSON lines, as :func:`~lgsp.transports.observe.configure_logging` sets it up,
    into ``os.devnull``: the cost of logging is counted, not the terminal's."""
    try:
        import structlog

        from lgsp.clients import AsyncClient, Client, VxpCodec, VxpService
        from lgsp.transports import VxpSigning
        from lgsp.transports.observe import CallLog, redact_processor
    except ImportError as exc:
        print(f"\n(no full client call measured: {exc})", file=sys.stderr)
        return None
    sink = stack.enter_context(Path(os.devnull).open("w"))  # noqa: SIM115 - closed by stack
    logger = structlog.wrap_logger(
        structlog.PrintLogger(sink),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    service = VxpService(VxpCodec(url), [VxpSigning("vxp.saas.03", "bench-secret")])
    kind = AsyncClient if asynchronous else Client
    # default logging: what a library does when the application configured nothing — the
    # call log's info events are dropped before they are built.
    return kind(documents=service, observer=CallLog(logger=logger) if log_json else CallLog())


# the async side -------------------------------------------------------------------------------


AsyncOp = Callable[[], Awaitable[object]]


async def _async_ops(url: str, stack: contextlib.AsyncExitStack) -> dict[str, AsyncOp]:
    import httpx_aiohttp

    request = Request("POST", url, headers=HEADERS, content=REQUEST_BODY)
    headers = dict(HEADERS)
    aio = await stack.enter_async_context(AiohttpTransport())
    hx = await stack.enter_async_context(AsyncHttpxTransport())
    hx_aio_client = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())
    )
    hx_aio = await stack.enter_async_context(AsyncHttpxTransport(hx_aio_client))
    raw_hx = await stack.enter_async_context(httpx.AsyncClient())
    session = await stack.enter_async_context(aiohttp.ClientSession())
    full = {
        label: _full_client(url, stack, asynchronous=True, log_json=log_json)
        for label, log_json in (("JSON call log", True), ("default logging", False))
    }
    for each in full.values():
        if each is not None:
            stack.push_async_callback(each.aclose)

    async def lgsp_aiohttp() -> object:
        return await run_async(_one_call(request), aio)

    async def lgsp_httpx() -> object:
        return await run_async(_one_call(request), hx)

    async def lgsp_httpx_aiohttp() -> object:
        return await run_async(_one_call(request), hx_aio)

    async def raw_httpx() -> object:
        return (await raw_hx.post(url, content=REQUEST_BODY, headers=headers)).content

    async def raw_aiohttp() -> object:
        async with session.post(url, data=REQUEST_BODY, headers=headers) as response:
            return await response.read()

    ops: dict[str, AsyncOp] = {
        "lgsp AiohttpTransport, run_async": lgsp_aiohttp,
        "lgsp AsyncHttpxTransport, run_async": lgsp_httpx,
        "lgsp AsyncHttpxTransport on httpx_aiohttp": lgsp_httpx_aiohttp,
        "raw httpx.AsyncClient.post": raw_httpx,
        "raw aiohttp.ClientSession.post": raw_aiohttp,
    }
    same_call = _vxp_call_headers(url)
    if same_call is not None:
        call_headers, call_body = same_call
        call_url = url.rstrip("/") + "/getReceivedEdocList"

        async def raw_aiohttp_same_call() -> object:
            async with session.post(call_url, data=call_body, headers=call_headers) as response:
                return await response.read()

        ops["raw aiohttp.ClientSession.post, the same VXP call"] = raw_aiohttp_same_call
    for label, each in full.items():
        if each is not None:
            ops[f"lgsp AsyncClient.documents.received(), {label}"] = each.documents.received
    return ops


async def _batch(op: AsyncOp, calls: int) -> float:
    """Seconds per call for ``calls`` calls made by CONCURRENCY workers at once."""
    each, extra = divmod(calls, CONCURRENCY)

    async def worker(n: int) -> None:
        for _ in range(n):
            await op()

    started = time.perf_counter()
    await asyncio.gather(*(worker(each + (i < extra)) for i in range(CONCURRENCY)))
    return (time.perf_counter() - started) / calls


def compare_async(url: str, settings: Settings, sample_seconds: float) -> dict[str, Timing]:
    """Time each async client in rotating order, all on one event loop, pools kept warm."""
    loop = asyncio.new_event_loop()
    try:
        stack = contextlib.AsyncExitStack()
        ops = loop.run_until_complete(_async_ops(url, stack))
        names = list(ops)
        calls: dict[str, int] = {}
        for name in names:  # warm the pools, then size a sample to about sample_seconds
            loop.run_until_complete(_batch(ops[name], CONCURRENCY))
            per_call = loop.run_until_complete(_batch(ops[name], 2 * CONCURRENCY))
            wanted = sample_seconds / per_call
            calls[name] = max(CONCURRENCY, round(wanted / CONCURRENCY) * CONCURRENCY)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for r in range(settings.repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(loop.run_until_complete(_batch(ops[name], calls[name])))
        loop.run_until_complete(stack.aclose())
        return {name: Timing(values) for name, values in samples.items()}
    finally:
        loop.close()


# the run --------------------------------------------------------------------------------------


def run_transport_benchmark(quick: bool) -> list[dict[str, Any]]:
    """Measure every client against one server process; one dict per client measured.

    Each dict: ``group`` (``sync`` or ``async``), ``name``, ``calls_per_s`` (median of the
    samples), ``spread`` (half the inter-quartile range, relative), ``samples``, ``baseline``
    (the name of the peer of its group), ``ratio`` (calls/s ÷ the baseline's) and, for the
    subject of each target, ``target`` and ``met``.
    """
    settings = Settings.quick() if quick else Settings()
    sync_seconds = 0.1 if quick else 0.3
    async_seconds = 0.3 if quick else 0.8
    results: list[dict[str, Any]] = []
    with server_process() as port:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(port)
        with contextlib.ExitStack() as stack:
            timings = compare(
                sync_ops(url, port, stack),
                repeats=settings.repeats,
                warmup=max(settings.warmup, 20),
                sample_seconds=sync_seconds,
            )
        results += _rows(
            "sync",
            timings,
            "raw httpx.Client.post",
            "lgsp HttpTransport, flow.run",
            SYNC_TARGET_RATIO * (1 - SYNC_NOISE),
        )
        timings = compare_async(url, settings, async_seconds)
        results += _rows(
            "async",
            timings,
            "raw aiohttp.ClientSession.post",
            "lgsp AiohttpTransport, run_async",
            ASYNC_TARGET_RATIO,
        )
    return results


def _wait_for(port: int) -> None:
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the benchmark server is not answering on port {port}")


def _rows(
    group: str, timings: dict[str, Timing], baseline: str, subject: str, target: float
) -> list[dict[str, Any]]:
    base = timings[baseline].per_second
    rows = []
    for name, timing in timings.items():
        row: dict[str, Any] = {
            "group": group,
            "name": name,
            "calls_per_s": timing.per_second,
            "spread": timing.spread,
            "samples": [1 / s for s in timing.samples],
            "baseline": baseline,
            "ratio": timing.per_second / base,
        }
        if name == subject:
            row["target"] = target
            row["met"] = row["ratio"] >= target
        rows.append(row)
    return rows


# the harness entry and the command ------------------------------------------------------------


def transports_case(_inputs: Inputs, settings: Settings) -> list[Row]:
    """sync and async HTTP calls/s: lgsp's transports against raw httpx, aiohttp, http.client"""
    quick = settings.repeats < Settings().repeats
    return [_harness_row(r) for r in run_transport_benchmark(quick)]


def _harness_row(r: dict[str, Any]) -> Row:
    concurrency = "1 at a time" if r["group"] == "sync" else f"{CONCURRENCY} in flight"
    target = ""
    if "target" in r:
        target = f"≥ {r['target']:.2f}x of {r['baseline']}"
    return Row(
        case=f"http-{r['group']} {r['name']} ({concurrency})",
        figure=rate(r["calls_per_s"], "calls") + f" ±{r['spread'] * 100:.0f}%",
        baseline=r["baseline"],
        ratio=times(r["ratio"]),
        target=target,
        met=r.get("met"),
        data={k: v for k, v in r.items() if k != "samples"},
    )


CASES = {"http-transports": transports_case}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.transports",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter samples")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:  # the server half, started by server_process()
        serve_forever()
        return 0
    results = run_transport_benchmark(args.quick)
    width = max(len(r["name"]) for r in results)
    for group in ("sync", "async"):
        rows = [r for r in results if r["group"] == group]
        print(
            f"{group} ({'one call at a time' if group == 'sync' else '100 in flight'}), "
            f"ratio = calls/s ÷ {rows[0]['baseline']}"
        )
        for r in rows:
            verdict = ""
            if "target" in r:
                verdict = f"  target ≥ {r['target']:.2f}x: {'PASS' if r['met'] else 'FAIL'}"
            print(
                f"  {r['name']:<{width}}  {r['calls_per_s']:>9,.0f} calls/s "
                f"±{r['spread'] * 100:>2.0f}%  {r['ratio']:5.2f}x{verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
