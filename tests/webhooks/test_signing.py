"""Signatures: what the worker signs, a receiver can check, and nothing else passes."""

from __future__ import annotations

import hashlib
import hmac

from webhooks.signing import sign, signature_header, verify

SECRET = "s3cret"
BODY = b'{"event":"version.created","id":"1"}'
NOW = 1_700_000_000


def test_a_signed_body_verifies():
    header = signature_header(SECRET, NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW)
    assert verify(SECRET, header, BODY.decode(), now=NOW + 299)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == expected
    assert signature_header(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_tampered_body_is_refused():
    header = signature_header(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY.replace(b"created", b"deleted"), now=NOW)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)


def test_a_tampered_timestamp_is_refused():
    signature = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, f"t={NOW + 1},v1={signature}", BODY, now=NOW)


def test_an_old_or_future_signature_is_refused():
    header = signature_header(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY, now=NOW + 301)
    assert not verify(SECRET, header, BODY, now=NOW - 301)
    assert verify(SECRET, header, BODY, tolerance=600, now=NOW + 301)


def test_another_secret_is_refused():
    assert not verify("other", signature_header(SECRET, NOW, BODY), BODY, now=NOW)


def test_malformed_headers_are_refused():
    signature = sign(SECRET, NOW, BODY)
    for header in [None, "", "garbage", f"v1={signature}", f"t={NOW}", f"t=abc,v1={signature}"]:
        assert not verify(SECRET, header, BODY, now=NOW), header


def test_any_one_of_several_signatures_may_match():
    header = f"t={NOW},v1={'0' * 64},v1={sign(SECRET, NOW, BODY)}"
    assert verify(SECRET, header, BODY, now=NOW)
