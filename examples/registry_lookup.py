"""Fill a local registry cache from the platform, then find agencies and procedures by name.

The VXP agency directory (``getAgenciesList``) and the portal's catalogues (procedures with
LayDanhSachTTHC, fields of work with LayDanhMucLinhVuc, organs with LayDanhMucCoQuan) go into a
:class:`~lgsp.registry.RegistryCache` — a SQLite file — as they are listed. Lookups then need
no network: by name, typed without diacritics (``ubnd nghe an``), in another order, as a
prefix, or by code; and up the hierarchy of the directory.

Run: python examples/registry_lookup.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lgsp import Client
from lgsp.clients import PortalProfile, Settings, VxpProfile
from lgsp.registry import RegistryCache
from lgsp.sandbox import Sandbox, SandboxConfig

# (query, kind, the code it must find first)
QUERIES = [
    ("ubnd nghe an", "agencies", "000.00.00.H41"),
    ("van phong chinh phu", "agencies", "000.00.00.G22"),
    ("nghe an van phong ubnd", "agencies", "000.00.01.H41"),
    ("uy ban nhan dan tinh ha t", "agencies", "000.00.00.H40"),
    ("dang ky khai sinh", "procedures", "1.001193"),
    ("giay phep xay dung", "procedures", "1.005129"),
    ("ho tich", "fields", "G09-HT"),
]


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


def settings_for(url: str) -> Settings:
    """The demo provisioning: VXP system vxp.saas.03 and the portal user ``tich-hop``."""
    demo = SandboxConfig.demo()
    system, user = demo.systems[0], demo.portal_users[0]
    return Settings(
        documents=VxpProfile(
            endpoint=f"{url}/vxp", system_id=system.system_id, secret=system.secret
        ),
        dossiers=PortalProfile(
            adapter_url=f"{url}/portal",
            auth_endpoint="/auth",
            integration_endpoint="/integration",
            share_endpoint="/share",
            username=user.username,
            password=user.password,
            dstcode=user.dstcode,
            madonvi=user.madonvi,
        ),
    )


def main(folder: Path) -> int:
    db = folder / "registry.sqlite3"
    with (
        sandbox_url() as url,
        Client.from_settings(settings_for(url)) as client,
        RegistryCache(db) as cache,
    ):
        agencies = client.agencies.list(cache=cache)
        procedures = client.catalogue.procedures(cache=cache)
        fields = client.catalogue.fields_of_work(cache=cache)
        organs = client.catalogue.organs(cache=cache)
        print(
            f"cached {len(agencies)} agencies, {len(procedures)} procedures, "
            f"{len(fields)} fields of work, {len(organs)} organs"
        )
    print("the platform is not asked again: every lookup below reads the cache")

    failures = 0
    with RegistryCache(db) as cache:
        for query, kind, expected in QUERIES:
            hits = cache.search(query, kind=kind, limit=3)
            first = hits[0] if hits else None
            found = f"{first.code}  {first.name}  ({first.match})" if first else "nothing"
            print(f"  {query!r:<30} → {found}")
            failures += first is None or first.code != expected
        by_code = cache.lookup("000.00.01.H41", kind="agencies")
        print(f"  by code 000.00.01.H41 → {[e.name for e in by_code.entries]}")
        chain = cache.path_to_root("agencies", "000.00.01.H41")
        print(f"  up the directory: {' → '.join(e.name for e in chain)}")
        for source in cache.sources():
            print(f"  {source.count} {source.kind} from {source.source}")
    if failures:
        print(f"{failures} lookup(s) did not find what they should")
        return 1
    print(f"wrote {db}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
