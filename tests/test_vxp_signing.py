"""VXP request signing reproduces what the official Java SDK 2.0.1 was recorded sending."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from hypothesis import given
from hypothesis import strategies as st

from lgsp.transports.vxp_signing import (
    java_hashmap_order,
    java_string_hash,
    sdk_file_hash,
    sdk_timestamp,
    sign_request,
)

VN = dt.timezone(dt.timedelta(hours=7))
MOMENT = dt.datetime(2026, 11, 23, 14, 0, 28, 754_000, tzinfo=VN)


def test_java_string_hash_matches_known_values() -> None:
    # Values of "".hashCode(), "a".hashCode(), "hello".hashCode() in Java (as unsigned ints)
    assert java_string_hash("") == 0
    assert java_string_hash("a") == 97
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("polygenelubricants") == (-2147483648) & 0xFFFFFFFF


def test_sign_header_key_orders_seen_on_the_wire() -> None:
    """The three orders recorded from the SDK (vn-contracts §2.1a)."""
    cases = {
        "getEdoc": (
            {"docId": "d1", "filePath": "/tmp/x"},
            "systemid;docId;filePath;timestamp;Content-Type",
        ),
        "updateStatus": (
            {"docId": "d1", "status": "done"},
            "systemid;docId;timestamp;Content-Type;status",
        ),
        "getAgenciesList": ({}, "systemid;timestamp;Content-Type"),
    }
    for params, expected in cases.values():
        headers = dict(
            sign_request(
                params,
                system_id="vxp.saas.03",
                secret="s",
                content_type="application/json",
                moment=MOMENT,
            )
        )
        assert headers["XroadVnpt-sign-header-key"] == expected


def test_timestamp_is_ddmmyyyy_t_hhmmss_plus_milliseconds() -> None:
    assert sdk_timestamp(MOMENT) == "23112026T140028+0754"
    utc = MOMENT.astimezone(dt.UTC)
    assert sdk_timestamp(utc) == "23112026T140028+0754"  # always Vietnam time


def test_hash_file_drops_leading_zeros_of_each_byte() -> None:
    data = b"edXML package bytes"
    digest = hashlib.sha256(data).digest()
    expected = "".join(f"{b:x}" for b in digest)
    assert sdk_file_hash(data) == expected
    assert sdk_file_hash([data[:5], data[5:]]) == expected
    # the documented example: …c52908e5… is sent as …c5298e5…
    assert "".join(f"{b:x}" for b in bytes.fromhex("c52908e5")) == "c5298e5"


def test_headers_carry_every_parameter_signed_with_hmac_sha256() -> None:
    headers = sign_request(
        {
            "from": "000.00.00.H41",
            "to": "000.00.00.G22",
            "servicetype": "eDoc",
            "messagetype": "edoc",
        },
        system_id="vxp.saas.03",
        secret="bi-mat",
        content_type="application/octet-stream",
        moment=MOMENT,
    )
    named = dict(headers)
    sign_header = named["XroadVnpt-sign-header"]
    assert (
        named["XroadVnpt-hash-header"]
        == hmac.new(b"bi-mat", sign_header.encode(), hashlib.sha256).hexdigest()
    )
    signed = json.loads(sign_header)
    for name in named["XroadVnpt-sign-header-key"].split(";"):
        assert signed["XroadVnpt-" + name] == named["XroadVnpt-" + name]
    assert named["XroadVnpt-to"] == '"000.00.00.G22"'  # JSON text, quotes included
    assert named["XroadVnpt-from"] == "000.00.00.H41"
    assert named["XroadVnpt-timestamp"] == "23112026T140028+0754"
    assert named["User-Agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert named["XroadVnpt-version"] == "3.0.201608"
    assert " " not in sign_header  # compact, as org.json writes it


def test_to_as_a_list_travels_as_a_json_array() -> None:
    named = dict(
        sign_request(
            {"to": ["000.00.00.G22", "000.00.00.H14"]},
            system_id="s",
            secret="k",
            content_type="application/json",
            moment=MOMENT,
        )
    )
    assert json.loads(named["XroadVnpt-to"]) == ["000.00.00.G22", "000.00.00.H14"]


@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-ABCDEFG", min_size=1, max_size=12),
        min_size=0,
        max_size=40,
    )
)
def test_hashmap_order_is_a_permutation_stable_under_reinsertion(keys: list[str]) -> None:
    order = java_hashmap_order(keys)
    assert sorted(order) == sorted(set(keys))
    assert java_hashmap_order(keys + keys) == order  # a map holds each key once
