"""The one slow digest of secrets kept where others may read them (refusal keys,
queued jobs, bulk results lines)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from thingspace_callbacks import _digest
from thingspace_callbacks._digest import digest, matches, parse_digest, pbkdf2_sha256


def test_pbkdf2_is_the_standard_one() -> None:
    # RFC 7914, section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1 (first 32 bytes).
    expected = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
    assert pbkdf2_sha256("passwd", "salt", 1) == expected
    assert pbkdf2_sha256(b"passwd", b"salt", 1) == expected


def test_a_process_computes_each_digest_once(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[tuple[Any, ...]] = []
    original = hashlib.pbkdf2_hmac

    def counting(*args: Any) -> bytes:
        computed.append(args)
        return original(*args)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    monkeypatch.setattr(_digest, "_computed", type(_digest._computed)())
    first = pbkdf2_sha256("fleet-pass-1", "salt-a", 1_000)
    assert pbkdf2_sha256("fleet-pass-1", "salt-a", 1_000) == first
    assert pbkdf2_sha256(b"fleet-pass-1", b"salt-a", 1_000) == first
    assert len(computed) == 1
    # Another secret, salt or number of rounds is another digest, computed.
    others = {
        pbkdf2_sha256("fleet-pass-2", "salt-a", 1_000),
        pbkdf2_sha256("fleet-pass-1", "salt-b", 1_000),
        pbkdf2_sha256("fleet-pass-1", "salt-a", 1_001),
        # The boundary between salt and secret is part of the key.
        pbkdf2_sha256("ass-1", "salt-afleet-p", 1_000),
    }
    assert len(computed) == 5
    assert first not in others
    assert len(others) == 4
    # Bounded: the oldest digests make room, and are computed again if asked.
    for n in range(_digest._COMPUTED_SIZE):
        pbkdf2_sha256(f"secret-{n}", "salt", 1)
    assert len(_digest._computed) == _digest._COMPUTED_SIZE
    assert pbkdf2_sha256("fleet-pass-1", "salt-a", 1_000) == first
    assert len(computed) == 5 + _digest._COMPUTED_SIZE + 1
    # The secret is nowhere among the keys.
    assert not any(b"fleet-pass" in key for key in _digest._computed)


def test_a_digest_says_how_it_was_made_and_checks_only_its_secret() -> None:
    recorded = digest("listener-pass-77", "s4lt", 1_000)
    assert recorded.startswith("pbkdf2_sha256$1000$s4lt$")
    assert "listener-pass-77" not in recorded
    assert parse_digest(recorded) == (1_000, "s4lt")
    assert matches("listener-pass-77", recorded)
    assert not matches("listener-pass-78", recorded)


@pytest.mark.parametrize(
    "recorded",
    [
        None,
        "plain text",
        "md5$1000$s4lt$00",
        "pbkdf2_sha256$x$s4lt$00",
        "pbkdf2_sha256$1000$$00",
        "pbkdf2_sha256$0$s4lt$00",
        "pbkdf2_sha256$999999999$s4lt$00",
        "pbkdf2_sha256$\u00b2$s4lt$00",  # a digit to isdigit(), not to int()
        "pbkdf2_sha256$1000$s\u00e9l$00",  # compare_digest() takes ASCII text only
    ],
)
def test_what_is_not_one_of_ours_matches_nothing(recorded: object) -> None:
    assert parse_digest(recorded) is None
    assert not matches("anything", recorded)


# Written by the digest functions of redis/_queue.py and cli/bulk.py before there was
# one module for them (same secret, salt and the default rounds): jobs already queued
# and results files already written must still verify, and job ids must not change.
SALT = "0f3c9a1b2d4e5f60718293a4b5c6d7e8"
OLD_PASSWORD = (
    "pbkdf2_sha256$200000$0f3c9a1b2d4e5f60718293a4b5c6d7e8$"
    "26fbec7b422bfeb89e0cf8b5186e939932f4264c6db8cba12fa0beec3c9e7d09"
)
OLD_URL = (
    "pbkdf2_sha256$200000$0f3c9a1b2d4e5f60718293a4b5c6d7e8$"
    "b5903891a4a69f9dd016ee0905816ea06d32d662b65557f02d477a6f3200892a"
)
PASSWORD = "listener-pass-77"
URL = "https://user:pa55@listener.example.com/hooks"


def test_digests_written_before_still_verify_and_are_written_the_same() -> None:
    assert digest(PASSWORD, SALT) == OLD_PASSWORD
    assert digest(URL, SALT) == OLD_URL
    assert matches(PASSWORD, OLD_PASSWORD)
    assert matches(URL, OLD_URL)
    assert not matches(PASSWORD, OLD_URL)


def test_a_queued_job_keeps_its_id_and_its_digests() -> None:
    from thingspace_callbacks.redis._jobs import Call

    call = Call.parse(
        "connectivity.register",
        "https://thingspace.verizon.com/api",
        service="AccountName",
        url=URL,
        username="cb-user",
        password=PASSWORD,
    )

    # What the code wrote for this run once the family was named `connectivity` (its job
    # ids derive from the digests); job format 2 (chunks) kept the digests.
    job_salt = "e87ce65b4a566b94809c956eef263727"
    assert call.digests == {
        "password": f"pbkdf2_sha256$200000${job_salt}$"
        "cf7e100f6cdcc6df19829f0a7e6a5a6218cb6b0d2dfba31ffa5d6b41d819811c",
        "urlDigest": f"pbkdf2_sha256$200000${job_salt}$"
        "7ac8cf13790a647bbc2e2875e9c70c4274d9e981c99a4a215a2b273cc36f08d1",
    }
    assert call.job_key(["0252012345-00001"]) == "fd2a65f24a9e5f1a1efb4836190a6b0585c2b18f"


def test_a_results_file_written_before_is_the_same_work() -> None:
    from pydantic import SecretStr

    from thingspace_callbacks.cli.bulk._plan import Plan, differences

    base_url = "https://thingspace.verizon.com/api"
    plan = Plan(
        "register",
        "connectivity",
        service="AccountName",
        url=URL,
        callback_username="cb-user",
        callback_password=SecretStr(PASSWORD),
    )
    recorded = {
        **plan.work(base_url),
        "urlDigest": OLD_URL,
        "callbackPassword": OLD_PASSWORD,
    }

    assert differences(recorded, plan, base_url) == []
    other = Plan(
        "register",
        "connectivity",
        service="AccountName",
        url=URL,
        callback_username="cb-user",
        callback_password=SecretStr("another-pass"),
    )
    assert differences(recorded, other, base_url) == [
        "callbackPassword differs (it is recorded as a digest)"
    ]
