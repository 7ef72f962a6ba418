"""SOAP call benchmark: lgsp's SoapService over HttpTransport against plain zeep and raw httpx.

* ``soap-call``: one whole call per iteration — build the envelope, POST it over a kept-alive
  loopback connection, read and parse the reply — for the document hub's ``SendDocument`` (a
  5 KB edXML package out, a short reply back) and ``GetDocument`` (the same package back in
  the reply). Measured in the same run, in rotating order:

  (a) lgsp: :class:`~lgsp.transports.soap.DocumentHubCodec` + :class:`HttpTransport`, driven
      by :func:`lgsp.transports.flow.run`;
  (b) plain zeep: ``zeep.Client(wsdl).create_service(...)``, the same shipped WSDL, zeep's own
      requests-based transport;
  (c) raw httpx: a POST of a pre-built envelope, the reply read but not parsed (the floor).

  Target: lgsp at least as fast per call as plain zeep (time ratio ≤ 1.0). For context: the
  first and a cached :func:`load_wsdl` (the WSDL is read once per process), and what
  ``zeep.Client`` costs to construct (it parses the WSDL on every construction).

The server is a minimal keep-alive HTTP/1.1 server on 127.0.0.1 in a subprocess (so that it
does not share the client's interpreter lock), answering canned replies by SOAPAction.

Run alone with ``python -m benchmarks.soap [--quick]``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import zeep

from benchmarks._harness import Row, Settings, Timing, compare, micros, rate, table, times
from benchmarks._inputs import Inputs
from lgsp._xml import parse_bytes
from lgsp.transports import HttpTransport
from lgsp.transports._soap_wsdl import wsdl_path
from lgsp.transports.flow import run
from lgsp.transports.soap import DocumentHubCodec, load_wsdl

HUB = "urn:lgsp:document-hub:1"
WSDL = "document-hub.wsdl"
SENDER = "000.00.00.G22"
RECEIVER = "000.00.00.H41"
TARGET_RATIO = 1.0

# The server: no lgsp, no zeep; it reads one request at a time per connection and answers the
# canned reply for its SOAPAction (its replies are handed over on stdin, base64-encoded).
_SERVER = r"""
import asyncio, base64, sys
replies = {}
for line in sys.stdin.read().splitlines():
    action, body = line.split()
    replies[base64.b64decode(action)] = base64.b64decode(body)
fault = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' \
        b'<faultcode>s:Client</faultcode><faultstring>unknown action</faultstring></s:Fault>' \
        b'</s:Body></s:Envelope>'

async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length, action = 0, b""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"soapaction":
                    action = value.strip()
            if length:
                await reader.readexactly(length)
            body = replies.get(action)
            status = b"200 OK" if body is not None else b"500 Internal Server Error"
            body = body if body is not None else fault
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/xml; charset=utf-8"
                         b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=64)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.sleep(600)  # stops by itself if the benchmark never stops it

asyncio.run(main())
"""


def _reply(operation: str, fields: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><s:Envelope '
        'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f'<h:{operation}Response xmlns:h="{HUB}">{fields}</h:{operation}Response>'
        "</s:Body></s:Envelope>"
    ).encode()


def _replies(package: bytes) -> dict[bytes, bytes]:
    encoded = base64.b64encode(package).decode()
    return {
        f'"{HUB}/SendDocument"'.encode(): _reply(
            "SendDocument",
            "<h:code>0</h:code><h:message>Đã tiếp nhận</h:message><h:docId>D-000123</h:docId>",
        ),
        f'"{HUB}/GetDocument"'.encode(): _reply("GetDocument", f"<h:package>{encoded}</h:package>"),
    }


@contextlib.contextmanager
def _server(package: bytes) -> Iterator[str]:
    """The loopback SOAP server in a subprocess; yields its endpoint URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdin is None or process.stdout is None:
            raise RuntimeError("the SOAP server's pipes did not open")
        lines = [
            f"{base64.b64encode(a).decode()} {base64.b64encode(b).decode()}"
            for a, b in _replies(package).items()
        ]
        process.stdin.write("\n".join(lines))
        process.stdin.close()
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}/DocumentHub"
    finally:
        process.terminate()
        process.wait(timeout=10)


def sample_package() -> bytes:
    """The benchmarks' header-only document package (a real-sized edXML, ~5 KB)."""
    import lgsp
    from benchmarks._inputs import header_package

    return lgsp.package_to_bytes(header_package())


def _package(inputs: Inputs | None) -> bytes:
    if inputs is not None:
        return inputs.header_bytes
    return sample_package()


_COLD_LOAD = (
    "import time; from lgsp.transports.soap import load_wsdl; t = time.perf_counter(); "
    f"load_wsdl({WSDL!r}); print(time.perf_counter() - t)"
)


def _wsdl_load_figures() -> dict[str, float]:
    # The first load of a process, in a fresh one: this process may have loaded it already.
    done = subprocess.run(
        [sys.executable, "-c", _COLD_LOAD], capture_output=True, text=True, check=True
    )
    cold = float(done.stdout.strip().splitlines()[-1])
    path = wsdl_path(WSDL)
    first = load_wsdl(WSDL)
    t0 = time.perf_counter()
    for _ in range(1000):
        again = load_wsdl(WSDL)
    warm = (time.perf_counter() - t0) / 1000
    if again is not first:
        raise RuntimeError("load_wsdl read the WSDL twice")
    t0 = time.perf_counter()
    zeep.Client(str(path))
    client_cost = time.perf_counter() - t0
    return {"load_first_s": cold, "load_cached_s": warm, "zeep_client_s": client_cost}


def _operations(url: str, package: bytes) -> dict[str, dict[str, Callable[[], object]]]:
    hub = DocumentHubCodec(url)
    hub.load()
    transport = HttpTransport()
    client = zeep.Client(str(wsdl_path(WSDL)))
    service: Any = client.create_service(f"{{{HUB}}}DocumentHubSoap11", url)
    raw = httpx.Client()
    send_request = hub.send_document(SENDER, package)
    get_request = hub.get_document(RECEIVER, "D-000123")

    def lgsp_send() -> object:
        def flow() -> Any:
            return hub.parse_send((yield hub.send_document(SENDER, package)))

        return run(flow(), transport)

    def lgsp_get() -> object:
        def flow() -> Any:
            return hub.parse_document((yield hub.get_document(RECEIVER, "D-000123")))

        return run(flow(), transport)

    digest = hashlib.sha256(package).hexdigest()

    def zeep_send() -> object:
        return service.SendDocument(organId=SENDER, type="EDOC", package=package, hash=digest)

    def zeep_get() -> object:
        return service.GetDocument(organId=RECEIVER, docId="D-000123")

    def raw_post(request: Any) -> Callable[[], object]:
        headers = dict(request.headers)
        content = request.content

        def post() -> object:
            return raw.post(url, content=content, headers=headers).content

        return post

    # The three must agree before they are timed.
    sent: Any = (lgsp_send(), zeep_send())
    if not sent[0]["doc_id"] == sent[1]["docId"] == "D-000123":
        raise RuntimeError(f"lgsp and zeep read SendDocument differently: {sent}")
    if not lgsp_get() == zeep_get() == package:
        raise RuntimeError("lgsp and zeep read GetDocument differently")
    raw_reply: Any = raw_post(get_request)()
    parse_bytes(raw_reply)
    return {
        "SendDocument": {"lgsp": lgsp_send, "zeep": zeep_send, "httpx": raw_post(send_request)},
        "GetDocument": {"lgsp": lgsp_get, "zeep": zeep_get, "httpx": raw_post(get_request)},
    }


def measure(settings: Settings, inputs: Inputs | None = None) -> list[dict[str, Any]]:
    """Figures of every operation and subject, as plain dicts."""
    package = _package(inputs)
    loads = _wsdl_load_figures()
    figures: list[dict[str, Any]] = []
    with _server(package) as url:
        for operation, ops in _operations(url, package).items():
            timed: dict[str, Timing] = compare(
                ops,
                repeats=settings.repeats,
                warmup=max(settings.warmup, 20),  # connections open, caches warm
                sample_seconds=settings.sample_seconds,
            )
            zeep_t, floor = timed["zeep"], timed["httpx"]
            for subject, timing in timed.items():
                figures.append(
                    {
                        "operation": operation,
                        "subject": subject,
                        "package_bytes": len(package),
                        "median_us": timing.median * 1e6,
                        "calls_per_s": timing.per_second,
                        "spread": timing.spread,
                        "ratio_vs_zeep": timing.median / zeep_t.median,
                        "ratio_vs_httpx": timing.median / floor.median,
                    }
                )
    figures.append({"operation": "load_wsdl", "subject": "lgsp", **loads})
    return figures


def run_soap_benchmark(quick: bool) -> list[dict[str, Any]]:
    """Start the loopback server, measure lgsp, zeep and raw httpx; the figures as dicts."""
    return measure(Settings.quick() if quick else Settings())


def _rows(figures: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    calls = [f for f in figures if f["operation"] != "load_wsdl"]
    for operation in dict.fromkeys(f["operation"] for f in calls):
        by = {f["subject"]: f for f in calls if f["operation"] == operation}
        ours, peer, floor = by["lgsp"], by["zeep"], by["httpx"]
        size = f"{ours['package_bytes']:,} B package"
        rows.append(
            Row(
                case=f"SOAP {operation} call, lgsp SoapService + HttpTransport ({size})",
                figure=f"{micros(ours['median_us'] / 1e6)} ±{ours['spread'] * 100:.0f}% "
                f"({rate(ours['calls_per_s'], 'call')})",
                baseline=f"{micros(peer['median_us'] / 1e6)} plain zeep "
                f"({rate(peer['calls_per_s'], 'call')})",
                ratio=times(ours["ratio_vs_zeep"]),
                target=f"≤ {TARGET_RATIO:.1f}x zeep",
                met=ours["ratio_vs_zeep"] <= TARGET_RATIO,
                data={
                    "per_s": ours["calls_per_s"],
                    "median_s": ours["median_us"] / 1e6,
                    "time_ratio": ours["ratio_vs_zeep"],
                    "spread": ours["spread"],
                    "zeep_per_s": peer["calls_per_s"],
                    "zeep_spread": peer["spread"],
                },
            )
        )
        rows.append(
            Row(
                case=f"  raw httpx POST of the same envelope, {operation} (the floor)",
                figure=f"{micros(floor['median_us'] / 1e6)} ±{floor['spread'] * 100:.0f}% "
                f"({rate(floor['calls_per_s'], 'call')})",
                baseline="(lgsp against it)",
                ratio=times(ours["ratio_vs_httpx"]),
                target="",
                met=None,
                data={"per_s": floor["calls_per_s"], "floor_spread": floor["spread"]},
            )
        )
    load = next(f for f in figures if f["operation"] == "load_wsdl")
    rows.append(
        Row(
            case="  load_wsdl: first call / cached (once per process)",
            figure=f"{load['load_first_s'] * 1000:.1f} ms / {micros(load['load_cached_s'])}",
            baseline=f"zeep.Client() {load['zeep_client_s'] * 1000:.1f} ms each",
            ratio="",
            target="",
            met=None,
            data=dict(load),
        )
    )
    return rows


def soap_case(inputs: Inputs, settings: Settings) -> list[Row]:
    """SOAP calls over loopback: lgsp SoapService vs plain zeep vs raw httpx."""
    return _rows(measure(settings, inputs))


CASES: dict[str, Callable[[Inputs, Settings], list[Row]]] = {"soap-call": soap_case}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    figures = run_soap_benchmark("--quick" in args)
    print(table(_rows(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
