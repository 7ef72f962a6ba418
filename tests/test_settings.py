"""Deployment profiles from code, environment and TOML; precedence; secrets kept out of sight."""

from __future__ import annotations

import os
import re
import traceback
from pathlib import Path
from typing import Any

import pydantic
import pytest

from lgsp.clients.settings import (
    GatewayProfile,
    PortalProfile,
    RetrySettings,
    Settings,
    SoapHubProfile,
    TimeoutSettings,
    TokenPortalProfile,
    VxpProfile,
)
from lgsp.errors import ConfigurationError
from lgsp.transports.base import Timeouts

DOCS = Path(__file__).resolve().parents[1] / "docs" / "transports.md"

VXP_SECRET = "vxp-hmac-Secret-4711"
CLIENT_SECRET = "wso2-Client-Secret-0815"
PORTAL_PASSWORD = "portal-Passw0rd-9999"
HUB_TOKEN = "hub-Token-31337"

VXP: dict[str, Any] = {
    "kind": "vxp",
    "endpoint": "https://vxp.example.vn/api/",
    "system_id": "vxp.saas.03",
    "secret": VXP_SECRET,
}
GATEWAY: dict[str, Any] = {
    "kind": "gateway",
    "base_url": "https://lgsp.example.vn/",
    "client_id": "app-docs",
    "client_secret": CLIENT_SECRET,
}
HUB: dict[str, Any] = {
    "kind": "soap-hub",
    "endpoint": "https://edoc.example.vn/EdocService",
    "organ_id": "000.00.00.H41",
    "token": HUB_TOKEN,
}
PORTAL: dict[str, Any] = {
    "kind": "portal",
    "adapter_url": "https://adapter.example.vn/",
    "auth_endpoint": "auth/login/",
    "integration_endpoint": "/integration",
    "share_endpoint": "//share",
    "username": "don-vi",
    "password": PORTAL_PASSWORD,
    "dstcode": "DST01",
    "madonvi": "000.00.01.H41",
}
TOKEN_PORTAL: dict[str, Any] = {
    "kind": "portal-token",
    "base_url": "https://dvc.example.vn/api",
    "token_url": "https://dvc.example.vn/oauth/token",
    "client_id": "bo-noi-vu",
    "client_secret": CLIENT_SECRET,
}
SECRETS = (VXP_SECRET, CLIENT_SECRET, PORTAL_PASSWORD, HUB_TOKEN)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LGSP_* variable of the machine leaks in; relative paths resolve in tmp_path."""
    for name in list(os.environ):
        if name.upper().startswith("LGSP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _env(monkeypatch: pytest.MonkeyPatch, section: str, values: dict[str, Any]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"LGSP_{section.upper()}__{key.upper()}", str(value))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml(path: Path, sections: dict[str, dict[str, Any]], **top: Any) -> Path:
    lines = [f"{key} = {_toml_value(value)}" for key, value in top.items()]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# --- Each profile from code, environment and TOML ----------------------------------------------

DOCUMENT_CASES = [
    pytest.param(VXP, VxpProfile, id="vxp"),
    pytest.param(GATEWAY, GatewayProfile, id="gateway"),
    pytest.param(HUB, SoapHubProfile, id="soap-hub"),
]
DOSSIER_CASES = [
    pytest.param(PORTAL, PortalProfile, id="portal"),
    pytest.param(TOKEN_PORTAL, TokenPortalProfile, id="portal-token"),
]
ALL_CASES = [
    *(pytest.param("documents", *p.values, id=f"documents-{p.id}") for p in DOCUMENT_CASES),
    *(pytest.param("dossiers", *p.values, id=f"dossiers-{p.id}") for p in DOSSIER_CASES),
]


def _secret_of(profile: Any) -> str:
    for name in ("secret", "client_secret", "password", "token"):
        value = getattr(profile, name, None)
        if value is not None:
            return str(value.get_secret_value())
    raise AssertionError("profile without a secret")


@pytest.mark.parametrize(("section", "values", "cls"), ALL_CASES)
def test_profile_from_code(section: str, values: dict[str, Any], cls: type[Any]) -> None:
    settings = Settings(**{section: values})
    profile = getattr(settings, section)
    assert type(profile) is cls
    assert profile.kind == values["kind"]
    assert _secret_of(profile) in SECRETS
    # the same profile built directly is equal
    assert cls(**values) == profile


@pytest.mark.parametrize(("section", "values", "cls"), ALL_CASES)
def test_profile_from_environment(
    monkeypatch: pytest.MonkeyPatch, section: str, values: dict[str, Any], cls: type[Any]
) -> None:
    _env(monkeypatch, section, values)
    profile = getattr(Settings(), section)
    assert profile == cls(**values)


@pytest.mark.parametrize(("section", "values", "cls"), ALL_CASES)
def test_profile_from_toml(
    tmp_path: Path, section: str, values: dict[str, Any], cls: type[Any]
) -> None:
    path = _toml(tmp_path / "lgsp.toml", {section: values})
    profile = getattr(Settings.from_toml(path), section)
    assert profile == cls(**values)


def test_profile_object_given_in_code() -> None:
    profile = VxpProfile(endpoint="https://vxp.example.vn", system_id="vxp.saas.03", secret="s")
    assert Settings(documents=profile).documents is profile


def test_defaults() -> None:
    settings = Settings()
    assert settings.documents is None
    assert settings.dossiers is None
    assert settings.retries == RetrySettings(
        max_attempts=4,
        base_delay=0.5,
        max_delay=30,
        jitter="full",
        respect_retry_after=True,
        max_retry_after=120,
    )
    assert settings.timeouts.to_timeouts() == Timeouts(10, 30, 30, 10, 120)
    assert settings.log_bodies is False
    assert settings.outbox_path is None


def test_policies_and_paths_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_RETRIES__MAX_ATTEMPTS", "6")
    monkeypatch.setenv("LGSP_RETRIES__JITTER", "none")
    monkeypatch.setenv("LGSP_TIMEOUTS__READ", "12.5")
    monkeypatch.setenv("LGSP_OUTBOX_PATH", "state/outbox.sqlite3")
    monkeypatch.setenv("LGSP_LOG_BODIES", "true")
    settings = Settings()
    assert settings.retries.max_attempts == 6
    assert settings.retries.jitter == "none"
    assert settings.retries.base_delay == 0.5
    assert settings.timeouts.to_timeouts().read == 12.5
    assert settings.outbox_path == Path("state/outbox.sqlite3")
    assert settings.log_bodies is True


def test_timeouts_without_total() -> None:
    assert TimeoutSettings(total=None).to_timeouts().total is None


# --- Precedence --------------------------------------------------------------------------------


def test_environment_overrides_toml_and_code_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _toml(
        tmp_path / "lgsp.toml",
        {"documents": GATEWAY, "retries": {"max_attempts": 6, "base_delay": 1.0}},
        user_agent="from-toml",
    )
    only_file = Settings.from_toml(path)
    assert only_file.user_agent == "from-toml"
    assert only_file.retries.max_attempts == 6

    monkeypatch.setenv("LGSP_USER_AGENT", "from-env")
    monkeypatch.setenv("LGSP_RETRIES__MAX_ATTEMPTS", "3")
    monkeypatch.setenv("LGSP_DOCUMENTS__CLIENT_ID", "env-client")
    with_env = Settings.from_toml(path)
    assert with_env.user_agent == "from-env"
    assert with_env.retries.max_attempts == 3
    assert with_env.retries.base_delay == 1.0  # sections merge field by field
    assert isinstance(with_env.documents, GatewayProfile)
    assert with_env.documents.client_id == "env-client"
    assert with_env.documents.client_secret.get_secret_value() == CLIENT_SECRET

    with_code = Settings.from_toml(path, user_agent="from-code", retries={"max_attempts": 9})
    assert with_code.user_agent == "from-code"
    assert with_code.retries.max_attempts == 9
    assert with_code.retries.base_delay == 1.0
    assert with_code.documents is not None
    assert with_code.documents.client_id == "env-client"


def test_without_from_toml_no_file_is_read(tmp_path: Path) -> None:
    _toml(tmp_path / "lgsp.toml", {}, user_agent="from-toml")
    (tmp_path / ".env").write_text("LGSP_USER_AGENT=from-dotenv\n", encoding="utf-8")
    assert Settings().user_agent is None


def test_toml_table(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text(
        '[app]\nname = "x"\n[tool.lgsp]\nuser_agent = "ua"\n[tool.lgsp.documents]\n'
        'kind = "vxp"\nendpoint = "https://vxp.example.vn"\nsystem_id = "vxp.saas.01"\n'
        f'secret = "{VXP_SECRET}"\n',
        encoding="utf-8",
    )
    settings = Settings.from_toml(path, table="tool.lgsp")
    assert settings.user_agent == "ua"
    assert isinstance(settings.documents, VxpProfile)
    with pytest.raises(ConfigurationError, match=r"no table \[tool\.other\]"):
        Settings.from_toml(path, table="tool.other")


# --- URLs, paths, TLS ---------------------------------------------------------------------------


def test_trailing_slashes_normalised() -> None:
    vxp = VxpProfile(**{**VXP, "endpoint": "HTTPS://VXP.Example.vn//api//v1///"})
    assert vxp.endpoint == "https://vxp.example.vn/api/v1"
    portal = PortalProfile(**PORTAL)
    assert portal.adapter_url == "https://adapter.example.vn"
    assert portal.auth_url == "https://adapter.example.vn/auth/login"
    assert portal.integration_url == "https://adapter.example.vn/integration"
    assert portal.share_url == "https://adapter.example.vn/share"


def test_portal_endpoint_may_be_an_absolute_url() -> None:
    portal = PortalProfile(**{**PORTAL, "share_endpoint": "https://share.example.vn/api/"})
    assert portal.share_url == "https://share.example.vn/api"


def test_gateway_service_url_and_token_url() -> None:
    gateway = GatewayProfile(**GATEWAY)
    assert gateway.base_url == "https://lgsp.example.vn"
    assert gateway.context_path == "/vdxp-product/1.0"
    assert gateway.service_url == "https://lgsp.example.vn/vdxp-product/1.0"
    assert gateway.token_url == "https://lgsp.example.vn/token"
    custom = GatewayProfile(
        **{**GATEWAY, "context_path": "ngsp-dvc-btxh/1.0/", "token_url": "https://idp.vn/t/"}
    )
    assert custom.service_url == "https://lgsp.example.vn/ngsp-dvc-btxh/1.0"
    assert custom.token_url == "https://idp.vn/t"
    root = GatewayProfile(**{**GATEWAY, "context_path": "/"})
    assert root.service_url == "https://lgsp.example.vn"


def test_gateway_axis_credentials_go_together() -> None:
    with pytest.raises(ConfigurationError, match="system_id and secret go together"):
        GatewayProfile(**GATEWAY, system_id="vxp.saas.03")
    both = GatewayProfile(**GATEWAY, system_id="vxp.saas.03", secret=VXP_SECRET)
    assert both.system_id == "vxp.saas.03"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://vxp.example.vn", "http:// or https://"),
        ("vxp.example.vn/api", "http:// or https://"),
        ("https://", "no host"),
        ("https://vxp.example.vn:99999", "bad host or port"),
        ("https://vxp.example.vn/api?x=1", "query string"),
        ("https://vxp.example.vn/api#top", "fragment"),
    ],
)
def test_bad_url(url: str, reason: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(documents={**VXP, "endpoint": url})
    assert caught.value.field == "documents.endpoint"
    assert reason in str(caught.value)


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        VxpProfile(**{**VXP, "endpoint": f"https://user:{VXP_SECRET}@vxp.example.vn"})
    assert caught.value.field == "endpoint"
    _assert_no_secret(str(caught.value))


def test_bad_system_id() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(documents={**VXP, "system_id": "vxp..03"})
    assert caught.value.field == "documents.system_id"
    assert "organ.system.format" in str(caught.value)


def test_tls_options(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    cert = tmp_path / "client.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    profile = VxpProfile(**VXP, verify=str(bundle), client_cert=cert)
    assert profile.verify == bundle
    assert profile.client_cert == cert
    assert VxpProfile(**VXP).verify is True
    assert VxpProfile(**VXP, verify=False).verify is False


def test_tls_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    _env(monkeypatch, "documents", VXP)
    monkeypatch.setenv("LGSP_DOCUMENTS__VERIFY", "ca.pem")
    profile = Settings().documents
    assert profile is not None
    assert profile.verify == Path("ca.pem")
    monkeypatch.setenv("LGSP_DOCUMENTS__VERIFY", "false")
    profile = Settings().documents
    assert profile is not None
    assert profile.verify is False


def test_missing_ca_bundle() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(documents={**VXP, "verify": "missing/ca.pem"})
    assert caught.value.field == "documents.verify"
    assert "does not exist" in str(caught.value)


# --- Errors -------------------------------------------------------------------------------------


def test_missing_required_field_names_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {k: v for k, v in VXP.items() if k != "secret"}
    with pytest.raises(ConfigurationError) as caught:
        Settings(documents=values)
    assert caught.value.field == "documents.secret"
    assert str(caught.value) == "setting documents.secret: Field required"


def test_every_problem_is_reported() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(dossiers={"kind": "portal", "adapter_url": "https://a.vn"}, retries={"x": 1})
    message = str(caught.value)
    for path in ("dossiers.password", "dossiers.dstcode", "dossiers.madonvi", "retries.x"):
        assert path in message


def test_unknown_kind() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(documents={**VXP, "kind": "fax"})
    assert caught.value.field == "documents.kind"
    assert "vxp, gateway, soap-hub" in str(caught.value)


def test_missing_kind_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, "dossiers", {k: v for k, v in PORTAL.items() if k != "kind"})
    with pytest.raises(ConfigurationError) as caught:
        Settings()
    assert caught.value.field == "dossiers.kind"
    assert "portal, portal-token" in str(caught.value)
    _assert_no_secret(str(caught.value))


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(documents={**VXP, "secrett": VXP_SECRET})
    assert caught.value.field == "documents.secrett"
    _assert_no_secret(str(caught.value))


def test_bad_retry_policy() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(retries={"max_attempts": 0})
    assert caught.value.field == "retries.max_attempts"
    with pytest.raises(ConfigurationError, match="max_delay"):
        RetrySettings(base_delay=10, max_delay=1)


def test_missing_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_toml(tmp_path / "absent.toml")
    assert caught.value.field == "toml"
    assert "no such file" in str(caught.value)


def test_malformed_toml_does_not_quote_it(tmp_path: Path) -> None:
    path = tmp_path / "lgsp.toml"
    path.write_text(f'[documents]\nsecret = "{VXP_SECRET}"\nkind = \n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_toml(path)
    assert caught.value.field == "toml"
    assert "not valid TOML" in str(caught.value)
    assert "line 3" in str(caught.value)
    _assert_no_secret(str(caught.value))


def test_invalid_toml_content_names_the_field(tmp_path: Path) -> None:
    path = _toml(tmp_path / "lgsp.toml", {"documents": {**GATEWAY, "client_secret": 42}})
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_toml(path)
    assert caught.value.field == "documents.client_secret"


def test_environment_json_that_cannot_be_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_RETRIES", "{not json")
    with pytest.raises(ConfigurationError, match="retries"):
        Settings()


# --- Secrets stay hidden -----------------------------------------------------------------------


def test_secrets_never_in_repr_str_or_default_dump() -> None:
    settings = Settings(documents=VXP, dossiers=PORTAL)
    shown = [
        repr(settings),
        str(settings),
        repr(settings.documents),
        str(settings.dossiers),
        str(settings.model_dump()),
        settings.model_dump_json(),
    ]
    for text in shown:
        _assert_no_secret(text)
    gateway = Settings(documents=GATEWAY, dossiers=TOKEN_PORTAL)
    _assert_no_secret(repr(gateway) + gateway.model_dump_json())
    hub = Settings(documents=HUB)
    _assert_no_secret(repr(hub) + hub.model_dump_json())
    # …but they are there when asked for
    assert settings.documents is not None
    assert isinstance(settings.documents, VxpProfile)
    assert settings.documents.secret.get_secret_value() == VXP_SECRET


@pytest.mark.parametrize(
    "values",
    [
        {**VXP, "secret": 12345, "extra": VXP_SECRET},
        {**VXP, "endpoint": f"https://vxp.example.vn/?token={VXP_SECRET}"},
        {**GATEWAY, "client_secret": [CLIENT_SECRET]},
        {**PORTAL, "kind": "gateway"},
        {**HUB, "token": {"value": HUB_TOKEN}},
    ],
)
def test_errors_never_quote_secrets(values: dict[str, Any]) -> None:
    section = "dossiers" if values.get("kind") == "portal" or "madonvi" in values else "documents"
    with pytest.raises(ConfigurationError) as caught:
        Settings(**{section: values})
    # pydantic's report quotes the input: it is neither chained nor shown in a traceback
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    text = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    _assert_no_secret(text)


def test_pydantic_entry_points_do_not_quote_secrets_either() -> None:
    bad = {**VXP, "extra": VXP_SECRET}
    with pytest.raises(pydantic.ValidationError) as caught:
        VxpProfile.model_validate(bad)
    _assert_no_secret(str(caught.value))
    with pytest.raises(pydantic.ValidationError) as caught:
        RetrySettings.model_validate({"max_attempts": 0, "password": VXP_SECRET})
    _assert_no_secret(str(caught.value))


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        VxpProfile(**{**VXP, "secret": ""})
    assert caught.value.field == "secret"


def test_profiles_are_immutable() -> None:
    profile = VxpProfile(**VXP)
    with pytest.raises(Exception, match="frozen"):
        profile.endpoint = "https://elsewhere.vn"  # type: ignore[misc]


# --- The documentation's examples ---------------------------------------------------------------


def test_documented_settings_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- check: settings -->\n```(\w+)\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict[str, Any] = {"__name__": "docs"}
    for language, block in blocks:
        if language == "toml":
            (tmp_path / "lgsp.toml").write_text(block, encoding="utf-8")
        elif language == "console":
            for line in block.splitlines():
                if line.startswith("$ export "):
                    name, _, value = line.removeprefix("$ export ").partition("=")
                    monkeypatch.setenv(name, value.strip("'\""))
        else:
            exec(compile(block, str(DOCS), "exec"), namespace)  # noqa: S102
