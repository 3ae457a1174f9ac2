"""TLS session resumption as SCHANNEL does it (session ids, 10 hours, per credential and target).

Real handshakes over memory BIOs. What must never change with resumption: the peer's certificates
(leaf and intermediates) are still there to verify, and a new certificate on either side is seen
at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from OpenSSL import SSL
from tls_helpers import complete_handshake

from labsim.engine.tls import (
    SESSION_CACHE_LIFETIME,
    ClientConnectionCreator,
    ServerConnectionCreator,
    TlsContextCache,
    TlsSessionCache,
    TlsSessionKey,
    peer_chain,
    session_reused,
    verify_peer,
)
from labsim.pki import CertificateValidationStatus, ExchangeCertificate

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
KEY = TlsSessionKey("ADATUM-MBX1", "thumb", "127.0.20.1", 25)


def session(
    contexts: TlsContextCache,
    sessions: TlsSessionCache,
    server_cert: ExchangeCertificate,
    client_cert: ExchangeCertificate,
    at: datetime = AT,
    key: TlsSessionKey = KEY,
) -> tuple[SSL.Connection, SSL.Connection]:
    """One session as the lab runs it: offer the cached session, hand-shake, record, close."""
    server = ServerConnectionCreator(contexts.server(server_cert)).serverConnectionForTLS(None)
    client = ClientConnectionCreator(
        contexts.client(client_cert), session=sessions.offer(key, at)
    ).clientConnectionForTLS(None)
    complete_handshake(server, client)
    sessions.completed(key, client, at)
    # An orderly close, as Twisted's loseConnection does (close_notify): OpenSSL keeps the
    # session resumable only then.
    client.set_shutdown(SSL.SENT_SHUTDOWN)
    server.set_shutdown(SSL.SENT_SHUTDOWN)
    return server, client


def test_second_session_resumes_and_keeps_both_certificate_chains(
    adatum, trey, trey_sub, adatum_cert, trey_cert
) -> None:
    contexts, sessions = TlsContextCache(), TlsSessionCache()
    session(contexts, sessions, trey_cert, adatum_cert)
    server, client = session(contexts, sessions, trey_cert, adatum_cert)

    assert session_reused(client) and session_reused(server)
    assert (sessions.full_handshakes, sessions.resumed_handshakes) == (1, 1)
    # The chain the server presented (leaf and intermediate) travels with the session, so the
    # sending side verifies it again on every resumed session, against its current trust.
    chain = peer_chain(client)
    assert [c.subject.rfc4514_string() for c in chain] == [
        trey_cert.certificate.subject.rfc4514_string(),
        trey_sub.certificate.subject.rfc4514_string(),
    ]
    assert verify_peer(client, trusted_roots=[], at=AT).status is (
        CertificateValidationStatus.UNTRUSTED_ROOT
    )
    assert verify_peer(client, trusted_roots=[trey.certificate], at=AT).status is (
        CertificateValidationStatus.VALID
    )
    on_server = verify_peer(server, trusted_roots=[adatum.certificate], at=AT, purpose="clientAuth")
    assert on_server.status is CertificateValidationStatus.VALID
    assert on_server.thumbprint == adatum_cert.thumbprint


def test_sessions_live_ten_lab_hours(adatum_cert, trey_cert) -> None:
    contexts, sessions = TlsContextCache(), TlsSessionCache()
    session(contexts, sessions, trey_cert, adatum_cert)
    almost = AT + SESSION_CACHE_LIFETIME - timedelta(seconds=1)
    _, client = session(contexts, sessions, trey_cert, adatum_cert, at=almost)
    assert session_reused(client)
    _, client = session(contexts, sessions, trey_cert, adatum_cert, at=AT + SESSION_CACHE_LIFETIME)
    assert not session_reused(client)
    assert (sessions.full_handshakes, sessions.resumed_handshakes) == (2, 1)


def test_a_server_with_a_new_certificate_gets_a_full_handshake(
    trey, adatum_cert, trey_cert
) -> None:
    contexts, sessions = TlsContextCache(), TlsSessionCache()
    session(contexts, sessions, trey_cert, adatum_cert)
    renewed = trey.issue("mail.treyresearch.net", dns_names=("treyresearch.net",), at=AT)
    _, client = session(contexts, sessions, renewed, adatum_cert)
    assert not session_reused(client)
    assert peer_chain(client)[0] == renewed.certificate
    assert sessions.full_handshakes == 2


def test_the_key_keeps_credentials_and_targets_apart(adatum, adatum_cert, trey_cert) -> None:
    contexts, sessions = TlsContextCache(), TlsSessionCache()
    session(contexts, sessions, trey_cert, adatum_cert)
    other_port = TlsSessionKey(KEY.source_server, KEY.client_thumbprint, KEY.address, 2525)
    assert sessions.offer(other_port, AT) is None
    other_cert = TlsSessionKey(KEY.source_server, "another", KEY.address, KEY.port)
    assert sessions.offer(other_cert, AT) is None
    assert sessions.offer(KEY, AT) is not None
    sessions.forget(KEY)
    assert sessions.offer(KEY, AT) is None


def test_a_resumed_session_keeps_the_client_chain_on_the_server(
    adatum, trey, trey_sub, adatum_cert, trey_cert
) -> None:
    # The receiving server judges the client certificate at MAIL FROM, from the session: its
    # intermediate must still be there when the session was resumed.
    contexts, sessions = TlsContextCache(), TlsSessionCache()
    session(contexts, sessions, adatum_cert, trey_cert)
    server, _client = session(contexts, sessions, adatum_cert, trey_cert)
    assert session_reused(server)
    assert peer_chain(server) == (trey_cert.certificate, trey_sub.certificate)
    on_server = verify_peer(server, trusted_roots=[trey.certificate], at=AT, purpose="clientAuth")
    assert on_server.status is CertificateValidationStatus.VALID
