"""Loading WSDL documents: from package data or a local file, once per process, never from the
network.

zeep reads a WSDL and everything it imports through a transport object's ``load(url)``; lgsp
hands it :class:`LocalFiles`, which reads files inside the WSDL's own folder and refuses any
other location (a remote ``xs:import``, a ``file:`` outside the folder) with
:class:`~lgsp.errors.ConfigurationError`. zeep's requests-based transport is never made, so no
HTTP session exists to fetch anything.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import zeep.exceptions
from lxml import etree
from zeep.settings import Settings
from zeep.wsdl import Document

from lgsp.errors import ConfigurationError

__all__ = ["LocalFiles", "hardened_settings", "load_wsdl", "wsdl_path"]

_PACKAGE = "lgsp.schemas"
_FOLDER = "wsdl"

_CACHE: dict[Path, Document] = {}
"""Documents by resolved path: one per file, however it was named."""
_BY_NAME: dict[str | os.PathLike[str], Document] = {}
"""The same documents by the name a caller gave, so that a cache hit costs no file-system call."""
_LOCK = threading.Lock()


def hardened_settings(*, strict: bool) -> Settings:
    """zeep settings that refuse DTDs, entities, remote imports and huge trees."""
    return Settings(
        strict=strict,
        raw_response=False,
        force_https=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


class LocalFiles:
    """What zeep's loader calls to read a WSDL or XSD: files under ``root`` and nothing else."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, url: str) -> bytes:
        parsed = urlparse(str(url))
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise self._refuse(url)
            path = Path(url2pathname(parsed.path))
        elif len(parsed.scheme) > 1:  # one letter is a Windows drive, not a scheme
            raise self._refuse(url)
        else:
            path = Path(url)
        path = path.resolve()
        if not path.is_relative_to(self.root):
            raise ConfigurationError(
                f"{url} is outside the WSDL's folder {self.root}; lgsp reads a WSDL's imports "
                "from its own folder only",
                field="wsdl",
            )
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc}", field="wsdl") from exc

    def _refuse(self, url: str) -> ConfigurationError:
        return ConfigurationError(
            f"{url} is not a local file: lgsp never fetches a WSDL or XSD over the network; "
            "save it next to the WSDL and import it by a relative path",
            field="wsdl",
        )


def wsdl_path(name: str | os.PathLike[str]) -> Path:
    """Where a WSDL is: a bare name is one shipped in ``lgsp/schemas/wsdl``, a path a file."""
    if not isinstance(name, str):
        return Path(name).resolve()
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigurationError(
            f"{name!r} is not the name of a WSDL shipped with lgsp (pass a pathlib.Path for a "
            "file of your own)",
            field="wsdl",
        )
    resource = importlib.resources.files(_PACKAGE) / _FOLDER / name
    if not isinstance(resource, Path):
        raise ConfigurationError(
            "lgsp's package data is not installed as files (a zipped install?); "
            "the WSDLs and their imports must be readable from a folder",
            field="wsdl",
        )
    return resource.resolve()


def _load(path: Path) -> Document:
    if not path.is_file():
        raise ConfigurationError(f"no WSDL at {path}", field="wsdl")
    settings = hardened_settings(strict=True)
    try:
        # Strict while reading our own description, so that a broken WSDL fails loudly rather
        # than being silently repaired by lxml's recover mode.
        loader: Any = LocalFiles(path.parent)  # zeep asks only for load(url)
        document = Document(str(path), loader, settings=settings)
    except ConfigurationError:
        raise
    except zeep.exceptions.ExternalReferenceForbidden as exc:
        raise ConfigurationError(
            f"{path.name} imports {getattr(exc, 'url', exc)}, which is not a local file: "
            "lgsp never fetches a WSDL or XSD over the network",
            field="wsdl",
        ) from exc
    except (
        zeep.exceptions.Error,
        etree.LxmlError,
        NotImplementedError,
        LookupError,
        ValueError,
        AttributeError,
        TypeError,
    ) as exc:
        # zeep reports a broken WSDL with its own errors, lxml's, and sometimes plain Python
        # ones (a missing attribute, a lookup of a name that is not defined).
        raise ConfigurationError(f"cannot read the WSDL {path}: {exc}", field="wsdl") from exc
    # Lenient from here on: replies may carry elements the description does not know.
    settings.strict = False
    return document


def load_wsdl(name: str | os.PathLike[str]) -> Document:
    """The parsed WSDL ``name``, loaded on first use and shared by the whole process.

    A bare name (``"document-hub.wsdl"``) is a WSDL shipped with lgsp; a path is a local file.
    Its imports are read from its own folder; a remote one raises
    :class:`~lgsp.errors.ConfigurationError`. Thread-safe: concurrent first calls load once.
    """
    document = _BY_NAME.get(name)
    if document is not None:
        return document
    path = wsdl_path(name)
    with _LOCK:
        document = _CACHE.get(path)
        if document is None:
            document = _CACHE[path] = _load(path)
        _BY_NAME[name] = document
    return document
