"""What a running sandbox is made of: its config, its store, its fault knobs, its clock."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

from lgsp.sandbox._common import Workers
from lgsp.sandbox._readers import PackageReaders
from lgsp.sandbox.config import SandboxConfig
from lgsp.sandbox.faults import Faults
from lgsp.sandbox.store import SandboxStore

__all__ = ["SandboxState"]

#: Worker threads for the blocking work of routes (SQLite, parsing) by default.
DEFAULT_WORKERS = 4


@dataclasses.dataclass
class SandboxState:
    """Shared by every route of one sandbox. ``clock`` gives epoch seconds; tests move time
    (token and session expiry) by replacing it — routes call it on every use."""

    config: SandboxConfig
    store: SandboxStore
    faults: Faults
    clock: Callable[[], float] = time.time
    #: Where routes run their blocking work (``await state.workers.run(fn, *args)``).
    workers: Workers = dataclasses.field(default_factory=lambda: Workers(DEFAULT_WORKERS))
    #: Where received packages are read and validated (the workers, or worker processes).
    readers: PackageReaders = dataclasses.field(default_factory=PackageReaders)

    @classmethod
    def open(
        cls,
        config: SandboxConfig | None = None,
        *,
        db: str | os.PathLike[str] = ":memory:",
        workers: int = DEFAULT_WORKERS,
        processes: int = 0,
    ) -> SandboxState:
        """A state over a new store at ``db`` (a path or ``":memory:"``); ``config`` defaults
        to :meth:`SandboxConfig.demo`. The schema of the core services is created.

        ``workers``: threads for the routes' blocking work (0: on the event loop itself);
        ``processes``: worker processes that read and validate received packages (0: none,
        the workers do it) — see :mod:`lgsp.sandbox._readers` for when that pays.
        """
        from lgsp.sandbox._schema import install

        config = config if config is not None else SandboxConfig.demo()
        store = SandboxStore(db)
        try:
            state = cls(
                config,
                store,
                Faults.from_settings(config.faults),
                workers=Workers(workers),
                readers=PackageReaders(processes),
            )
            install(state)
        except BaseException:
            store.close()
            raise
        return state

    def close(self) -> None:
        """Close the store and stop the worker processes, if any."""
        self.readers.close()
        self.store.close()

    def now(self) -> float:
        return self.clock()

    def token_lifetime(self, configured: int) -> int:
        """The lifetime of a new token or session: the fault knob when set, else ``configured``."""
        forced = self.faults.token_lifetime
        return forced if forced is not None else configured
