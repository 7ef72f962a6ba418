"""The platform's auth schemes, as sans-I/O pieces the call flow runs before and after a call.

Each scheme has two steps, both flows (see :mod:`lgsp.transports.flow`):

* ``prepare(request)`` returns the request with its credentials — fetching a token or logging
  in first when needed, under a lock, so that a hundred concurrent calls cause one refresh;
* ``should_retry(request, response)`` says whether the response means "credentials lapsed"
  (a 401, an expired portal session); the scheme then forgets them and the call is sent once
  more with fresh ones.

Schemes: :class:`ClientCredentials` (OAuth2 against a WSO2-style ``POST /token``),
:class:`BearerToken` (a fixed token), :class:`VxpSigning` (the VXP SDK's HMAC-signed
``XroadVnpt-*`` headers, vn-contracts §2.1/§2.1a), :class:`PortalSession` (the DVCQG adapter's
login with the ``dstcode`` header, §4.1). A client combines them (a gateway: bearer + VXP).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Generator
from typing import Any, Protocol
from urllib.parse import urlencode

from lgsp.errors import AuthError, LgspError
from lgsp.transports.base import AUTH_TIMEOUTS, Request, Response, Timeouts, encode_json
from lgsp.transports.flow import Effect, Exclusive, FlowLock
from lgsp.transports.vxp_signing import HEADER_PREFIX, sign_request

__all__ = [
    "Auth",
    "BearerToken",
    "ClientCredentials",
    "HeaderToken",
    "PortalSession",
    "Token",
    "VxpSigning",
]

Clock = Callable[[], float]


class Auth(Protocol):
    """An auth scheme: credentials onto a request, and whether a response says they lapsed."""

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]: ...

    def should_retry(
        self, request: Request, response: Response
    ) -> Generator[Effect, Any, bool]: ...


def _nothing() -> Generator[Effect, Any, bool]:
    return False
    yield  # pragma: no cover - makes this a generator


class BearerToken:
    """A fixed ``Authorization: Bearer`` token (a gateway key issued out of band)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerToken(***)"

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]:
        return request.with_headers([("Authorization", f"Bearer {self._token}")])
        yield  # pragma: no cover

    def should_retry(self, request: Request, response: Response) -> Generator[Effect, Any, bool]:
        return (yield from _nothing())


@dataclasses.dataclass(slots=True)
class Token:
    """An access token and when lgsp stops using it (before the server's own expiry)."""

    value: str
    refresh_at: float
    expires_at: float
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    revoked: bool = False

    def __repr__(self) -> str:
        return f"Token(***, refresh_at={self.refresh_at:.0f}, revoked={self.revoked})"

    def usable(self, now: float) -> bool:
        return not self.revoked and now < self.refresh_at


class ClientCredentials:
    """OAuth2 client credentials against a WSO2-style token endpoint (vn-contracts §3).

    ``POST token_url`` with ``grant_type=client_credentials, client_id, client_secret`` (form
    fields; ``basic=True`` sends the pair as HTTP Basic instead) → ``access_token``,
    ``expires_in``. The token is cached and replaced ``margin`` seconds (at most half its
    life) before it expires; concurrent calls wait for one refresh; a 401 on a call revokes
    the token it used and the call is retried once with a fresh one.
    """

    scheme = "oauth2"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        basic: bool = False,
        margin: float = 60.0,
        default_lifetime: float = 300.0,
        timeouts: Timeouts = AUTH_TIMEOUTS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.basic = basic
        self.margin = margin
        self.default_lifetime = default_lifetime
        self.timeouts = timeouts
        self.clock = clock
        self.fetches = 0  # how many tokens were fetched (for tests and metrics)
        self._token: Token | None = None
        self._lock = FlowLock()

    def __repr__(self) -> str:
        return f"ClientCredentials({self.token_url!r}, client_id={self.client_id!r})"

    @property
    def token(self) -> Token | None:
        return self._token

    def token_request(self) -> Request:
        """The token call, as it goes on the wire."""
        form: dict[str, str] = {"grant_type": "client_credentials"}
        headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ]
        if self.basic:
            import base64

            pair = f"{self.client_id}:{self._secret}".encode()
            headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode()))
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._secret
        if self.scope:
            form["scope"] = self.scope
        return Request(
            "POST",
            self.token_url,
            tuple(headers),
            urlencode(form).encode(),
            meta={"operation": "token", "auth": "token"},
            timeouts=self.timeouts,
        )

    def accept(self, response: Response) -> Token:
        """Read a token response into a :class:`Token`, or raise :class:`AuthError`."""

        def error(message: str) -> AuthError:
            return AuthError(
                message, scheme=self.scheme, status_code=response.status_code, url=self.token_url
            )

        if response.status_code in (400, 401, 403):
            raise error(
                "the token endpoint refused the client credentials "
                f"(HTTP {response.status_code}); check client_id and "
                "client_secret"
            )
        if not response.is_success:
            raise error(f"the token endpoint answered HTTP {response.status_code}")
        try:
            data = response.json()
        except LgspError as exc:
            raise error("the token endpoint did not answer JSON") from exc
        value = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(value, str) or not value:
            raise error("the token response has no access_token")
        lifetime = data.get("expires_in", self.default_lifetime)
        try:
            seconds = float(lifetime)
        except (TypeError, ValueError):
            seconds = self.default_lifetime
        now = self.clock()
        ahead = min(self.margin, seconds / 2)
        token = Token(
            value, now + seconds - ahead, now + seconds, str(data.get("token_type") or "Bearer")
        )
        self.fetches += 1
        return token

    def _refresh(self, stale: Token | None) -> Generator[Effect, Any, Token]:
        current = self._token
        if current is not None and current is not stale and current.usable(self.clock()):
            return current  # another call refreshed it while this one waited for the lock
        response = yield self.token_request()
        token = self._token = self.accept(response)
        return token

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]:
        token = self._token
        if token is None or not token.usable(self.clock()):
            token = yield Exclusive(self._lock, self._refresh(token))
        if token is None:  # pragma: no cover - _refresh returns a token or raises
            raise AuthError("no token", scheme=self.scheme)
        return request.with_headers([("Authorization", f"Bearer {token.value}")]).with_meta(
            oauth_token=token
        )

    def should_retry(self, request: Request, response: Response) -> Generator[Effect, Any, bool]:
        if response.status_code != 401:
            return False
        used = request.meta.get("oauth_token")
        if isinstance(used, Token):
            used.revoked = True
        return True
        yield  # pragma: no cover


class VxpSigning:
    """Signs each VXP call as the official Java SDK does (vn-contracts §2.1, §2.1a).

    The call's parameters come from ``request.meta['vxp_params']`` (in the SDK's order) and
    its content type from the request; signing happens at each attempt, so a retry carries a
    fresh timestamp over the same parameters and the same ``hash-file``.
    """

    scheme = "vxp"

    def __init__(
        self,
        system_id: str,
        secret: str,
        *,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.system_id = system_id
        self._secret = secret
        self._now = now

    def __repr__(self) -> str:
        return f"VxpSigning({self.system_id!r}, secret=***)"

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]:
        params = request.meta.get("vxp_params")
        if params is None:
            return request
        content_type = request.header("content-type") or "application/json"
        moment = self._now() if self._now else None
        signed = sign_request(
            params,
            system_id=self.system_id,
            secret=self._secret,
            content_type=content_type,
            moment=moment,
        )
        # The unsigned parameter headers the codec put there are replaced by the signed set.
        kept = tuple(
            (k, v)
            for k, v in request.headers
            if not k.startswith(HEADER_PREFIX) and k.lower() not in ("user-agent", "content-type")
        )
        return request.replace(headers=kept + tuple(signed))
        yield  # pragma: no cover

    def should_retry(self, request: Request, response: Response) -> Generator[Effect, Any, bool]:
        return (yield from _nothing())


_SESSION_WORDS = (b"session", b"phi\xc3\xaan", b"token", b"dang nhap", b"\xc4\x91\xc4\x83ng nh")


class PortalSession:
    """The classic DVCQG adapter's session (vn-contracts §4.1).

    Login: ``POST login_url`` with ``{"username", "password"}`` and the ``dstcode`` header →
    ``{"error_code": 0, "session": "…"}``. Every call then carries ``dstcode`` and the session
    in its JSON body. The session is reused until the portal says it lapsed (HTTP 401/403, or
    a non-zero ``error_code`` whose message speaks of the session) or ``lifetime`` passes; then
    lgsp logs in once more and resends the call once.
    """

    scheme = "portal"

    def __init__(
        self,
        login_url: str,
        username: str,
        password: str,
        dstcode: str,
        *,
        lifetime: float | None = None,
        timeouts: Timeouts = AUTH_TIMEOUTS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.login_url = login_url
        self.username = username
        self._password = password
        self.dstcode = dstcode
        self.lifetime = lifetime
        self.timeouts = timeouts
        self.clock = clock
        self.logins = 0
        self._session: Token | None = None
        self._lock = FlowLock()

    def __repr__(self) -> str:
        return f"PortalSession({self.login_url!r}, username={self.username!r})"

    def login_request(self) -> Request:
        body = encode_json({"username": self.username, "password": self._password})
        headers = (("Content-Type", "application/json"), ("dstcode", self.dstcode))
        return Request(
            "POST",
            self.login_url,
            headers,
            body,
            meta={"operation": "login", "auth": "session"},
            timeouts=self.timeouts,
        )

    def accept(self, response: Response) -> Token:
        def error(message: str) -> AuthError:
            return AuthError(
                message, scheme=self.scheme, status_code=response.status_code, url=self.login_url
            )

        if not response.is_success:
            raise error(f"the portal login answered HTTP {response.status_code}")
        try:
            data = response.json()
        except LgspError as exc:
            raise error("the portal login did not answer JSON") from exc
        if not isinstance(data, dict):
            raise error("the portal login answered something other than an object")
        code = str(data.get("error_code", "")).strip()
        session = data.get("session")
        if code not in ("0", "00") or not isinstance(session, str) or not session:
            message = data.get("message") or data.get("error_message") or "no session given"
            raise error(f"the portal refused the login (error_code {code or '?'}: {message})")
        now = self.clock()
        until = now + self.lifetime if self.lifetime else float("inf")
        self.logins += 1
        return Token(session, until, until, "session")

    def _login(self, stale: Token | None) -> Generator[Effect, Any, Token]:
        current = self._session
        if current is not None and current is not stale and current.usable(self.clock()):
            return current
        response = yield self.login_request()
        session = self._session = self.accept(response)
        return session

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]:
        session = self._session
        if session is None or not session.usable(self.clock()):
            session = yield Exclusive(self._lock, self._login(session))
        if session is None:  # pragma: no cover - _login returns a session or raises
            raise AuthError("no session", scheme=self.scheme)
        prepared = request.with_headers([("dstcode", self.dstcode)])
        if request.meta.get("json") is not None:
            prepared = prepared.with_json(session=session.value)
        return prepared.with_meta(portal_session=session)

    def lapsed(self, response: Response) -> bool:
        """Whether ``response`` says the session is no longer valid."""
        if response.status_code in (401, 403, 419, 440):
            return True
        if not response.is_success:
            return False
        body = response.read()
        if len(body) > 4096 or not any(w in body.lower() for w in _SESSION_WORDS):
            return False
        try:
            data = response.json()
        except LgspError:
            return False
        if not isinstance(data, dict):
            return False
        return str(data.get("error_code", "0")).strip() not in ("0", "00")

    def should_retry(self, request: Request, response: Response) -> Generator[Effect, Any, bool]:
        if not self.lapsed(response):
            return False
        used = request.meta.get("portal_session")
        if isinstance(used, Token):
            used.revoked = True
        return True
        yield  # pragma: no cover


class HeaderToken:
    """A fixed token in a header of the deployment's choice (the SOAP hub's ``authorization``
    header carries the bare token, vn-contracts §3)."""

    def __init__(self, token: str, *, header: str = "authorization") -> None:
        self._token = token
        self.header = header

    def __repr__(self) -> str:
        return f"HeaderToken(***, header={self.header!r})"

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]:
        return request.with_headers([(self.header, self._token)])
        yield  # pragma: no cover

    def should_retry(self, request: Request, response: Response) -> Generator[Effect, Any, bool]:
        return (yield from _nothing())
