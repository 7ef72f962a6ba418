"""Running the sandbox: :class:`Sandbox` in a background thread (tests, the demo, examples) and
:func:`serve` in the foreground (the ``lgsp sandbox`` command).

Both run uvicorn with the asyncio loop and the h11 HTTP parser (pure Python, always installed
with uvicorn; httptools would be faster but is an extra dependency) on 127.0.0.1 by default.

::

    with Sandbox() as sandbox:                    # a free loopback port, an in-memory store
        settings = Settings(documents=VxpProfile(endpoint=sandbox.url + "/vxp", ...))
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn

from lgsp.sandbox.app import create_app
from lgsp.sandbox.config import SandboxConfig
from lgsp.sandbox.state import DEFAULT_WORKERS, SandboxState

__all__ = ["AppServer", "Sandbox", "serve"]

_START_TIMEOUT = 15.0


def _uvicorn_config(
    app: Any, host: str, port: int, log_level: str, *, own_logging: bool
) -> uvicorn.Config:
    extra: dict[str, Any] = {} if own_logging else {"log_config": None}
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http="h11",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
        server_header=False,
        **extra,
    )


class AppServer:
    """An ASGI ``app`` served by uvicorn (asyncio, h11) from a background thread on
    ``host:port`` (port 0: a free one). :meth:`start` binds (OSError when the port is taken)
    and returns once connections are accepted; :meth:`stop` ends it and joins the thread."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "lgsp-server",
        log_level: str = "warning",
        backlog: int = 2048,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self.log_level = log_level
        self.backlog = backlog
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def started(self) -> bool:
        return self._socket is not None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> AppServer:
        if self._server is not None:
            raise RuntimeError(f"{self.name} is already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on accepted sockets whose
        # listener names the protocol. Without it every answer written in two parts (head,
        # then body) waits for the client's delayed ACK: about 40 ms a call on keep-alive.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(self.backlog)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = _uvicorn_config(self.app, self.host, self.port, self.log_level, own_logging=False)
        server = uvicorn.Server(config)
        self._server = server
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported by start(), which waits
                failure.append(exc)

        self._thread = threading.Thread(target=run, name=f"{self.name}-{self.port}", daemon=True)
        self._thread.start()
        stopped = threading.Event()
        waited = 0.0
        while not server.started and self._thread.is_alive() and waited < _START_TIMEOUT:
            stopped.wait(0.01)
            waited += 0.01
        if not server.started:
            self.stop()
            cause = failure[0] if failure else None
            raise RuntimeError(f"{self.name} did not start on {self.url}") from cause
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(10)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._server = self._thread = self._socket = None


class Sandbox:
    """The sandbox on ``host`` and a free port (or ``port``), served from a background thread.

    ``db`` is ``":memory:"`` (default) or a file; ``config`` defaults to
    :meth:`SandboxConfig.demo`; a ready ``state`` may be given instead (it is then the caller's
    to close). Use as a context manager, or :meth:`start` and :meth:`stop`. :attr:`url` is
    ``http://127.0.0.1:<port>``; :attr:`state` holds the store, the fault knobs and the clock.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        db: str | os.PathLike[str] = ":memory:",
        state: SandboxState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        workers: int = DEFAULT_WORKERS,
        processes: int = 0,
    ) -> None:
        self._owns_state = state is None
        if state is None:
            state = SandboxState.open(config, db=db, workers=workers, processes=processes)
        self.state = state
        self.host = host
        self.port = port
        self.log_level = log_level
        self._serving: AppServer | None = None

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    @property
    def url(self) -> str:
        """The base URL (no trailing slash)."""
        if self._serving is None:
            raise RuntimeError("the sandbox is not started")
        return self._serving.url

    def start(self) -> Sandbox:
        """Bind, start serving, and return once the server accepts connections."""
        if self._serving is not None and self._serving.started:
            raise RuntimeError("the sandbox is already started")
        serving = AppServer(
            create_app(state=self.state),
            self.host,
            self.port,
            name="lgsp-sandbox",
            log_level=self.log_level,
        )
        serving.start()
        self._serving, self.port = serving, serving.port
        return self

    def stop(self) -> None:
        """Stop serving and join the thread; close the store if this sandbox opened it."""
        if self._serving is not None:  # kept: its url stays readable after a stop
            self._serving.stop()
        if self._owns_state:
            self.state.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._serving is not None and self._serving.started else "stopped"
        return f"Sandbox({where}, db={self.state.store.path!r})"


def _load_config(config: SandboxConfig | str | os.PathLike[str] | None) -> SandboxConfig:
    if config is None:
        return SandboxConfig.demo()
    if isinstance(config, SandboxConfig):
        return config
    return SandboxConfig.from_toml(Path(config))


def serve(
    host: str = "127.0.0.1",
    port: int = 8750,
    db: str | os.PathLike[str] = "lgsp-sandbox.db",
    config: SandboxConfig | str | os.PathLike[str] | None = None,
    *,
    log_level: str = "info",
    workers: int = 0,
    processes: int = 0,
) -> None:
    """Run the sandbox in the foreground until interrupted (Ctrl-C). ``config`` is a
    :class:`SandboxConfig`, the path of a TOML file, or None for the demo provisioning;
    ``workers`` and ``processes`` as for :meth:`SandboxState.open`.

    By default the work runs on the event loop itself (``workers=0``): in a process of its
    own the sandbox has nothing else to keep responsive, and handing each call to a thread
    costs more under the GIL than it saves (measured: ~270–310 packages/s of 100 KB with 50
    clients on a 2-core machine, against ~170–230/s with 4 threads). ``processes`` adds
    worker processes for reading packages, which pays when cores are free."""
    settings = _load_config(config)
    state = SandboxState.open(settings, db=db, workers=workers, processes=processes)
    try:
        app = create_app(state=state)
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}"
        print(f"lgsp sandbox listening on {base} (store: {state.store.path})")  # noqa: T201
        print(  # noqa: T201
            f"  VXP: {base}/vxp · gateway: {base}/vdxp-product/1.0 (token: {base}/token) · "
            f"SOAP hub: {base}/soap/DocumentHub?wsdl · docs: {base}/docs"
        )
        for system in settings.systems:
            print(f"  system {system.system_id}: {', '.join(system.organs) or 'no organ'}")  # noqa: T201
        for application in settings.applications:
            print(f"  application {application.client_id}")  # noqa: T201
        server = uvicorn.Server(_uvicorn_config(app, host, port, log_level, own_logging=True))
        # uvicorn stops gracefully on Ctrl-C, then raises the signal again: that is our end.
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        print("lgsp sandbox stopped")  # noqa: T201
    finally:
        state.close()
