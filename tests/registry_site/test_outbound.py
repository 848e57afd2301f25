"""The outbound address policy: what the registry may call, checked when an address is
saved and again on the address actually connected to; no redirects; a deadline that a
slow receiver cannot stretch."""

from __future__ import annotations

import datetime
import ssl
import time

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from registry_site.env import envnetworks
from registry_site.outbound import (
    OutboundRefused,
    check_url,
    is_allowed_network,
    is_allowed_receiver,
    open_client,
)
from tests.registry_site.servers import (
    answer,
    listening,
    never_reads,
    trickle,
)

PUBLIC = "93.184.216.34"
PUBLIC6 = "2606:2800:220:1:248:1893:25c8:1946"

# Every spelling of a loopback, private, link-local, multicast, unspecified or reserved
# host we know of, each with the kind the refusal names (None: not even a valid URL).
REFUSED_LITERALS = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("https://127.255.255.254/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://LocalHost:8000/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:9000/x", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://127.1/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0177.0.0.1/", None),  # httpx will not even parse it
    ("http://017700000001/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[2002:7f00:1::1]/", "loopback"),  # 6to4 of 127.0.0.1
    ("http://[64:ff9b::127.0.0.1]/", "loopback"),  # NAT64 of 127.0.0.1
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::a9fe:a9fe]:80/", "link-local"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "private"),  # carrier-grade NAT, shared address space
    ("http://[::ffff:10.1.2.3]/", "private"),
    ("http://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[fec0::1]/", "private"),  # site-local, deprecated but routable in places
    ("http://[64:ff9b:1::a00:1]/", "private"),  # local-use NAT64
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250:1900/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://[::127.0.0.1]/", "reserved"),  # IPv4-compatible, long deprecated
]


@pytest.mark.parametrize(("url", "kind"), REFUSED_LITERALS)
def test_every_spelling_of_an_internal_address_is_refused(url, kind):
    with pytest.raises(OutboundRefused) as refused:
        check_url(url)
    if kind is not None:
        assert f"a {kind} address" in refused.value.message
        assert "OUTBOUND_ALLOWED_NETWORKS" in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        f"http://{PUBLIC}/",
        f"https://{PUBLIC}:8443/hook?x=1",
        f"http://[{PUBLIC6}]/",
        f"http://[::ffff:{PUBLIC}]/",
        "http://[64:ff9b::5db8:d822]/",  # NAT64 of the public address: IPv6-only hosts
        "http://[2002:5db8:d822::1]/",  # 6to4 of it
    ],
)
def test_public_addresses_pass(url):
    check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:11211/",
        "javascript:alert(1)",
        "//hooks.example.com/",
        "not a url",
        "http://",
        "http://[::1/",
    ],
)
def test_only_http_and_https_urls_with_a_host_are_called(url):
    with pytest.raises(OutboundRefused):
        check_url(url)


@pytest.mark.parametrize(
    ("answer_", "kind"),
    [
        (["127.0.0.1"], "loopback"),
        (["::1"], "loopback"),
        (["10.1.2.3"], "private"),
        (["fd00::5"], "private"),
        (["169.254.169.254"], "link-local"),
        (["fe80::1%eth0"], "link-local"),
        (["::ffff:192.168.0.1"], "private"),
        (["0.0.0.0"], "unspecified"),  # noqa: S104 (an answer, not a binding)
        (["224.0.0.251"], "multicast"),
        # One bad address among good ones is enough: a client may pick any of them.
        ([PUBLIC, "127.0.0.1"], "loopback"),
        ([PUBLIC6, "::1"], "loopback"),
    ],
)
def test_names_that_resolve_to_internal_addresses_are_refused(dns, answer_, kind):
    dns.set("hooks.internal.test", answer_)
    with pytest.raises(OutboundRefused) as refused:
        check_url("https://hooks.internal.test/in")
    assert f"a {kind} address" in refused.value.message
    assert "hooks.internal.test" in refused.value.message


def test_names_that_resolve_to_public_addresses_pass(dns):
    dns.set("hooks.example.test", [PUBLIC, PUBLIC6])
    check_url("https://hooks.example.test/in")


def test_a_name_that_does_not_resolve_yet_is_left_to_the_check_at_send_time(dns):
    dns.set("not-yet.example.test", [])
    check_url("https://not-yet.example.test/in")
    assert dns.lookups["not-yet.example.test"] == 1


# ---------------------------------------------------------------- the allow-list


def test_the_allow_list_lets_internal_networks_through_and_nothing_else(settings, dns):
    settings.OUTBOUND_ALLOWED_NETWORKS = envnetworks_of("10.0.0.0/8, fd00::/8")
    check_url("http://10.1.2.3/")
    check_url("http://[::ffff:10.1.2.3]/")
    check_url("http://[fd00::5]/")
    dns.set("models.corp.test", ["10.9.9.9"])
    check_url("https://models.corp.test/v1")
    for url in ["http://127.0.0.1/", "http://192.168.1.1/", "http://169.254.169.254/"]:
        with pytest.raises(OutboundRefused):
            check_url(url)
    assert is_allowed_network("10.0.0.1") and not is_allowed_network("11.0.0.1")


def envnetworks_of(raw: str):
    import os

    os.environ["_TEST_NETWORKS"] = raw
    try:
        return envnetworks("_TEST_NETWORKS")
    finally:
        del os.environ["_TEST_NETWORKS"]


def test_the_allow_list_is_empty_by_default_and_refuses_nonsense(monkeypatch, settings):
    monkeypatch.delenv("OUTBOUND_ALLOWED_NETWORKS", raising=False)
    assert envnetworks("OUTBOUND_ALLOWED_NETWORKS") == ()
    for bad in ["10.0.0.0/33", "10.0.0.1/8", "intranet", "10.0.0.0/8,,nope"]:
        monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", bad)
        with pytest.raises(ImproperlyConfigured, match="OUTBOUND_ALLOWED_NETWORKS"):
            envnetworks("OUTBOUND_ALLOWED_NETWORKS")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["not a network"]
    with pytest.raises(ImproperlyConfigured):
        check_url("http://127.0.0.1/")


# ---------------------------------------------------------------- at send time


def post(url: str, *, deadline: float | None = None, timeout: float = 5.0, **options):
    with open_client(timeout=timeout, deadline=deadline) as client:
        response = client.post(url, content=b'{"event": "ping"}', **options)
        return response, is_allowed_receiver(response)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001"])
def test_a_loopback_receiver_is_never_connected_to(host):
    with listening(answer(200)) as receiver, pytest.raises(OutboundRefused):
        post(receiver.url(host))
    assert receiver.connections == 0


def test_a_name_that_turns_to_loopback_after_the_save_check_is_not_connected_to(dns):
    # DNS rebinding: public when the address is saved, loopback when it is called.
    with listening(answer(200)) as receiver:
        dns.set("rebind.example.test", [PUBLIC], ["127.0.0.1"])
        url = receiver.url("rebind.example.test")
        check_url(url)
        with pytest.raises(OutboundRefused):
            post(url)
    assert receiver.connections == 0


def test_the_checked_address_is_the_one_connected_to(settings, dns):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(answer(200, b"hello")) as receiver:
        # Loopback for the one lookup the connection makes; were there a second, the
        # name would not resolve and the request would fail.
        dns.set("receiver.corp.test", ["127.0.0.1"], [])
        response, allowed = post(receiver.url("receiver.corp.test"))
    assert (response.status_code, response.content, allowed) == (200, b"hello", True)
    assert dns.lookups["receiver.corp.test"] == 1


def test_the_allow_list_lets_a_loopback_receiver_through(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(answer(201, b"made")) as receiver:
        response, allowed = post(receiver.url())
        assert (response.status_code, response.content, allowed) == (201, b"made", True)
        settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]
        with pytest.raises(OutboundRefused):
            post(receiver.url())
    assert receiver.connections == 1


def test_whether_a_receiver_is_allowed_goes_by_the_address_connected_to(settings, dns):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    dns.set("receiver.corp.test", ["127.0.0.1"])
    with listening(answer(200)) as receiver, open_client(timeout=5.0) as client:
        response = client.post(receiver.url("receiver.corp.test"))
        assert is_allowed_receiver(response)
        # Judged on the peer of that connection, by the list as it is now.
        settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]
        assert not is_allowed_receiver(response)
    assert not is_allowed_receiver(httpx.Response(200))


@pytest.mark.parametrize("asked", [False, True])
def test_redirects_are_never_followed(settings, asked):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(answer(200, b"elsewhere")) as elsewhere:
        moved = answer(302, b"", f"Location: {elsewhere.url()}\r\n")
        with listening(moved) as receiver:
            response, _ = post(receiver.url(), follow_redirects=asked)
    assert response.status_code == 302
    assert response.headers["location"] == elsewhere.url()
    assert (receiver.connections, elsewhere.connections) == (1, 0)


# ---------------------------------------------------------------- the deadline


@pytest.mark.parametrize("head_first", [True, False], ids=["slow body", "slow head"])
def test_a_receiver_trickling_a_byte_every_two_seconds_is_cut_at_the_deadline(settings, head_first):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with (
        listening(trickle(every=2.0, head_first=head_first)) as receiver,
        open_client(timeout=10.0, deadline=3.0) as client,
    ):
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.post(receiver.url())
        took = time.monotonic() - started
    # Each byte comes well within the 10 s per read; only the deadline can end it.
    assert 2.9 <= took < 3.8


def test_a_receiver_that_will_not_read_the_body_is_cut_at_the_deadline(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    body = b"x" * 20_000_000  # far more than the socket buffers hold
    with listening(never_reads) as receiver, open_client(timeout=10.0, deadline=1.5) as client:
        started = time.monotonic()
        with pytest.raises(httpx.WriteTimeout):
            client.post(receiver.url(), content=body)
        took = time.monotonic() - started
    assert 1.4 <= took < 2.0


def test_without_a_deadline_each_operation_still_has_its_timeout(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(trickle(every=5.0, head_first=False)) as receiver:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            post(receiver.url(), timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_each_request_of_a_client_gets_its_own_deadline(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(answer(200)) as receiver, open_client(timeout=5.0, deadline=1.0) as client:
        for _ in range(3):
            assert client.post(receiver.url()).status_code == 200
            time.sleep(0.4)


# ---------------------------------------------------------------- TLS


def certificate_for(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``name`` and its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """A TLS context for a receiver with a certificate for receiver.corp.test, trusted
    by clients made from now on; the server names it was asked for (SNI)."""
    cert, key = certificate_for("receiver.corp.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    asked: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: asked.append(name)
    return context, asked


def test_tls_checks_the_name_and_sends_it_while_connecting_to_the_checked_address(
    settings, dns, tls_server
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    context, asked = tls_server
    dns.set("receiver.corp.test", ["127.0.0.1"])
    dns.set("impostor.corp.test", ["127.0.0.1"])
    with listening(answer(200, b"secure"), tls=context) as receiver:
        response, _ = post(receiver.url("receiver.corp.test", scheme="https"))
        assert (response.status_code, response.content) == (200, b"secure")
        # The same address under another name: the certificate does not match.
        with pytest.raises(httpx.ConnectError, match="certificate"):
            post(receiver.url("impostor.corp.test", scheme="https"))
    assert asked[0] == "receiver.corp.test"
