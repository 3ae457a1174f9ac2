"""The private Postfix fixture on its own, with no labsim involved.

A Python smtplib client (with and without a client certificate) delivers to it over STARTTLS;
it relays to a STARTTLS aiosmtpd server on 127.0.41.1 that asks for (and verifies) a client certificate, under
each TLS policy level; a certificate-name mismatch defers with 4.7.5 and delivers after the
policy or the certificate is fixed and the queue flushed. The lab tests reuse exactly this.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from postfix import (
    LocalCA,
    PrivatePostfix,
    Route,
    TlsPolicy,
    free_port,
    is_listening,
    wait_until,
)

RELAY_HOST = "127.0.41.1"
RELAY_DOMAIN = "relay.test"
RELAY_NAME = "mx.relay.test"
CLIENT_ADDRESS = "127.0.41.2"


def dns_names(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def common_name(cert: x509.Certificate) -> str:
    (attribute,) = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attribute.value)


# --- the relay target: aiosmtpd with STARTTLS and a required client certificate ---------------


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    peer: str
    helo: str
    client_certificate: x509.Certificate | None


@dataclass
class Recorder:
    """aiosmtpd handler: keep every envelope with the TLS client certificate it came with."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        der = session.ssl["ssl_object"].getpeercert(binary_form=True) if session.ssl else None
        self.envelopes.append(
            Envelope(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                peer=session.peer[0],
                helo=session.host_name,
                client_certificate=x509.load_der_x509_certificate(der) if der else None,
            )
        )
        return "250 2.0.0 Ok: queued by aiosmtpd"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Envelope]:
        return wait_until(
            lambda: self.envelopes if len(self.envelopes) >= count else None,
            timeout,
            f"{count} message(s) at the aiosmtpd relay target",
        )


@dataclass
class RelayTarget:
    controller: Controller
    recorder: Recorder
    port: int
    stopped: bool = False

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.controller.stop()
        wait_until(lambda: not is_listening(RELAY_HOST, self.port), 10, "the relay target to stop")


@pytest.fixture
def relay_ca() -> LocalCA:
    return LocalCA("Relay Test Root")


@pytest.fixture
def relay_target(
    relay_ca: LocalCA, tmp_path: Path
) -> Iterator[Callable[[int, Sequence[str], bytes], RelayTarget]]:
    """Factory: aiosmtpd on RELAY_HOST:port, STARTTLS with a ``relay_ca`` certificate for the
    given names, a client certificate asked for and verified against ``client_root``."""
    running: list[RelayTarget] = []

    def start(port: int, names: Sequence[str], client_root: bytes) -> RelayTarget:
        folder = tmp_path / f"relay-{len(running)}"
        cert, key = relay_ca.issue(names).write(folder, "relay")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.load_verify_locations(cadata=client_root.decode())
        context.verify_mode = ssl.CERT_OPTIONAL  # verified when given; the tests check it was
        recorder = Recorder()
        controller = Controller(
            recorder,
            hostname=RELAY_HOST,
            port=port,
            tls_context=context,
            require_starttls=True,
            server_hostname=names[0],
        )
        controller.start()
        running.append(RelayTarget(controller, recorder, port))
        return running[-1]

    try:
        yield start
    finally:
        for target in running:
            target.stop()


def route(port: int, level: str, match: Sequence[str] = ()) -> Route:
    return Route(RELAY_HOST, port, TlsPolicy(level, match=tuple(match)))


# --- inbound: smtplib -> Postfix smtpd --------------------------------------------------------


def starttls_context(postfix: PrivatePostfix, client: tuple[Path, Path] | None) -> ssl.SSLContext:
    """Trust the instance's CA; the name is checked by the test (we connect to an IP)."""
    context = ssl.create_default_context(cafile=str(postfix.ca_path))
    context.check_hostname = False
    if client is not None:
        context.load_cert_chain(*client)
    return context


def presented_certificate(postfix: PrivatePostfix) -> x509.Certificate:
    """The certificate the instance's smtpd presents after STARTTLS (chain verified)."""
    with smtplib.SMTP(postfix.address, postfix.port, "probe.example.test", timeout=10) as smtp:
        smtp.starttls(context=starttls_context(postfix, None))
        assert smtp.sock is not None
        der = smtp.sock.getpeercert(binary_form=True)  # type: ignore[attr-defined]
    return x509.load_der_x509_certificate(der)


@pytest.mark.parametrize("with_certificate", [True, False], ids=["client-cert", "anonymous"])
def test_smtplib_over_starttls_is_delivered(
    private_postfix: Callable[..., PrivatePostfix], tmp_path: Path, with_certificate: bool
) -> None:
    client_ca = LocalCA("Client Test Root")
    client = client_ca.issue(["client.example.test"]).write(tmp_path, "client")
    postfix = private_postfix(trusted_roots=[client_ca.pem])

    message = EmailMessage()
    message["From"] = "someone@client.example.test"
    message["To"] = "kim@fabrikam.org"
    message["Subject"] = "Hello Postfix over STARTTLS"
    message.set_content("Sent by smtplib.")
    with smtplib.SMTP(
        postfix.address,
        postfix.port,
        local_hostname="client.example.test",
        source_address=(CLIENT_ADDRESS, 0),
        timeout=10,
    ) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp.starttls(context=starttls_context(postfix, client if with_certificate else None))
        assert smtp.sock is not None
        peer = x509.load_der_x509_certificate(
            smtp.sock.getpeercert(binary_form=True)  # type: ignore[attr-defined]
        )
        assert dns_names(peer) == ["mail.fabrikam.org"]
        assert common_name(peer) == "mail.fabrikam.org"
        smtp.send_message(message)

    (delivered,) = postfix.wait_for_messages(1)
    assert delivered["Subject"] == "Hello Postfix over STARTTLS"
    assert delivered["Delivered-To"] == "kim@fabrikam.org"
    assert delivered.get_content().strip() == "Sent by smtplib."
    received = delivered.get_all("Received")[0]
    assert f"[{CLIENT_ADDRESS}]" in received
    assert "using TLSv1.3" in received
    if with_certificate:
        assert '(Client CN "client.example.test", Issuer "Client Test Root" (verified OK))' in (
            " ".join(received.split())
        )
        postfix.wait_for_log(
            rf"smtpd\[\d+\]: Trusted TLS connection established from unknown\[{CLIENT_ADDRESS}\]"
        )
    else:
        assert "Client CN" not in received
        postfix.wait_for_log(
            rf"smtpd\[\d+\]: Anonymous TLS connection established from unknown\[{CLIENT_ADDRESS}\]"
        )


def test_certificate_name_can_be_wrong_then_changed(
    private_postfix: Callable[..., PrivatePostfix],
) -> None:
    postfix = private_postfix(certificate_names=("mail.wrong.example",))
    assert dns_names(presented_certificate(postfix)) == ["mail.wrong.example"]

    postfix.set_certificate_names(["mail.fabrikam.org", "fabrikam.org"])

    cert = presented_certificate(postfix)
    assert dns_names(cert) == ["mail.fabrikam.org", "fabrikam.org"]
    assert cert.issuer == postfix.ca.certificate.subject


# --- outbound: Postfix smtp -> aiosmtpd -------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "logged"),
    [("secure", "Verified"), ("verify", "Verified"), ("encrypt", "Trusted"), ("may", "Trusted")],
)
def test_relays_over_mutual_tls_per_policy(
    private_postfix: Callable[..., PrivatePostfix],
    relay_ca: LocalCA,
    relay_target: Callable[..., RelayTarget],
    level: str,
    logged: str,
) -> None:
    port = free_port(RELAY_HOST)
    match = (RELAY_NAME,) if level in ("verify", "secure") else ()
    postfix = private_postfix(
        trusted_roots=[relay_ca.pem], routes={RELAY_DOMAIN: route(port, level, match)}
    )
    target = relay_target(port, [RELAY_NAME], postfix.ca.pem)

    postfix.send("kim@fabrikam.org", f"someone@{RELAY_DOMAIN}", f"Relayed under {level}")

    (envelope,) = target.recorder.wait_for(1)
    assert envelope.mail_from == "kim@fabrikam.org"
    assert envelope.rcpt_tos == [f"someone@{RELAY_DOMAIN}"]
    assert envelope.peer == "127.0.40.1"  # smtp_bind_address: the instance's own address
    assert envelope.helo == "mail.fabrikam.org"
    assert envelope.client_certificate is not None
    assert common_name(envelope.client_certificate) == "mail.fabrikam.org"
    postfix.wait_for_log(
        rf"smtp\[\d+\]: {logged} TLS connection established to "
        rf"{RELAY_HOST}\[{RELAY_HOST}\]:{port}: TLSv1\.3"
    )
    postfix.wait_for_log(r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued by aiosmtpd\)")
    assert postfix.queue() == []


@pytest.mark.parametrize("fix", ["policy", "certificate"])
def test_wrong_name_defers_then_delivers_after_the_fix(
    private_postfix: Callable[..., PrivatePostfix],
    relay_ca: LocalCA,
    relay_target: Callable[..., RelayTarget],
    fix: str,
) -> None:
    port = free_port(RELAY_HOST)
    expected = "wrong.relay.test" if fix == "policy" else RELAY_NAME
    presented = RELAY_NAME if fix == "policy" else "wrong.relay.test"
    postfix = private_postfix(
        trusted_roots=[relay_ca.pem],
        routes={RELAY_DOMAIN: route(port, "secure", [expected])},
    )
    target = relay_target(port, [presented], postfix.ca.pem)

    postfix.send("kim@fabrikam.org", f"someone@{RELAY_DOMAIN}", "Name mismatch")

    postfix.wait_for_log(
        rf"server certificate verification failed for {RELAY_HOST}\[{RELAY_HOST}\]:{port}"
    )
    postfix.wait_for_log(r"dsn=4\.7\.5, status=deferred \(Server certificate not verified\)")
    (queued,) = postfix.queue()
    (recipient,) = queued["recipients"]  # type: ignore[misc]
    assert recipient["delay_reason"] == "Server certificate not verified"
    assert target.recorder.envelopes == []

    if fix == "policy":
        postfix.set_route(RELAY_DOMAIN, route(port, "secure", [RELAY_NAME]))
    else:
        target.stop()
        target = relay_target(port, [RELAY_NAME], postfix.ca.pem)
    mark = postfix.log_position()
    postfix.flush()

    (envelope,) = target.recorder.wait_for(1)
    assert envelope.rcpt_tos == [f"someone@{RELAY_DOMAIN}"]
    postfix.wait_for_log(
        rf"Verified TLS connection established to {RELAY_HOST}\[{RELAY_HOST}\]:{port}",
        since=mark,
    )
    postfix.wait_for_log(r"dsn=2\.0\.0, status=sent", since=mark)
    assert postfix.queue() == []


# --- lifecycle and bad input ------------------------------------------------------------------


def test_stop_leaves_nothing_running(private_postfix: Callable[..., PrivatePostfix]) -> None:
    postfix = private_postfix()
    pid = postfix._master_pid()
    assert pid is not None
    assert pid in postfix.processes()
    assert len(postfix.processes()) > 1  # master and its daemons (smtpd, qmgr, pickup, ...)
    assert is_listening(postfix.address, postfix.port)

    postfix.stop()

    assert not is_listening(postfix.address, postfix.port)
    assert postfix.processes() == []
    assert postfix.postfix("status", check=False).returncode == 1
    postfix.stop()  # idempotent; the fixture calls it again too
    postfix.wait_for_log(r"the Postfix mail system is not running")


def test_refuses_what_would_leave_loopback_or_cannot_verify() -> None:
    with pytest.raises(ValueError, match="not on 127.0.0.0/8"):
        Route("192.0.2.1", 25)
    with pytest.raises(ValueError, match="needs match="):
        TlsPolicy("secure")
    with pytest.raises(ValueError, match="not one of"):
        TlsPolicy("dane-only")
    assert TlsPolicy("verify", match=("a.example", "b.example")).entry() == (
        "verify match=a.example:b.example"
    )
    assert Route("127.0.10.1", 2525).nexthop == "[127.0.10.1]:2525"
