"""Real TLS handshakes (pyOpenSSL memory BIOs, and Twisted's TLS layer over iosim pipes).

No sockets, no sleeps, no wall clock: verification time is always the lab time passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL
from tls_helpers import complete_handshake
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test.iosim import connectedServerAndClient

from labsim.engine import tls as tls_module
from labsim.engine.tls import (
    ClientConnectionCreator,
    ServerConnectionCreator,
    TlsContextCache,
    TlsRole,
    client_context,
    group_bits,
    negotiated_description,
    peer_chain,
    roots_for_chain,
    schannel_algorithms,
    server_context,
    verify_chain,
    verify_peer,
)
from labsim.pki import (
    CertificateValidationStatus,
    create_root_ca,
    exchange_default_certificate,
)

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
S = CertificateValidationStatus


def handshake(
    server_ctx: SSL.Context, client_ctx: SSL.Context
) -> tuple[SSL.Connection, SSL.Connection]:
    """Run a complete handshake between two memory-BIO connections; return (server, client)."""
    return complete_handshake(SSL.Connection(server_ctx, None), SSL.Connection(client_ctx, None))


def test_mutual_tls_client_certificate_reaches_server(adatum_cert, trey_cert, adatum, trey) -> None:
    server, client = handshake(server_context(trey_cert), client_context(adatum_cert))
    # Server side: OpenSSL's chain omits the leaf; peer_chain puts it first.
    assert peer_chain(server) == (adatum_cert.certificate,)
    # Client side: the server sent its intermediate with the leaf, not the root.
    assert peer_chain(client) == (trey_cert.certificate, *trey_cert.chain)

    on_server = verify_peer(server, trusted_roots=[adatum.certificate], at=AT, purpose="clientAuth")
    assert on_server.status is S.VALID
    assert on_server.thumbprint == adatum_cert.thumbprint
    assert on_server.names == ("mail.adatum.com", "adatum.com")

    on_client = verify_peer(client, trusted_roots=[trey.certificate], at=AT)
    assert on_client.status is S.VALID
    assert on_client.subject == "CN=mail.treyresearch.net, O=TreyResearch"


def test_untrusted_root(adatum_cert, trey_cert, trey) -> None:
    server, client = handshake(server_context(trey_cert), client_context(adatum_cert))
    result = verify_peer(server, trusted_roots=[trey.certificate], at=AT, purpose="clientAuth")
    assert result.status is S.UNTRUSTED_ROOT
    assert result.detail  # OpenSSL's text is kept for the logs
    assert verify_peer(client, trusted_roots=[], at=AT).status is S.UNTRUSTED_ROOT


def test_verification_uses_lab_time(adatum_cert, trey_cert, trey) -> None:
    server, client = handshake(server_context(trey_cert), client_context(adatum_cert))
    roots = [trey.certificate]
    assert verify_peer(client, trusted_roots=roots, at=AT).status is S.VALID
    later = trey_cert.not_after + timedelta(days=1)
    assert verify_peer(client, trusted_roots=roots, at=later).status is S.CERTIFICATE_EXPIRED
    earlier = trey_cert.not_before - timedelta(days=1)
    assert verify_peer(client, trusted_roots=roots, at=earlier).status is S.CERTIFICATE_EXPIRED


def test_exchange_self_signed_is_valid_self_signed(adatum_cert) -> None:
    self_signed = exchange_default_certificate("TREY-CAS1", "trey-cas1.treyresearch.net", at=AT)
    server, client = handshake(server_context(self_signed), client_context(adatum_cert))
    untrusted = verify_peer(client, trusted_roots=[], at=AT)
    assert untrusted.status is S.VALID_SELF_SIGNED
    trusted = verify_peer(client, trusted_roots=[self_signed.certificate], at=AT)
    assert trusted.status is S.VALID_SELF_SIGNED
    assert trusted.is_self_signed


def test_no_client_certificate_is_empty_certificate(trey_cert, adatum) -> None:
    server, client = handshake(server_context(trey_cert), client_context(None))
    result = verify_peer(server, trusted_roots=[adatum.certificate], at=AT, purpose="clientAuth")
    assert result.status is S.EMPTY_CERTIFICATE
    assert result.chain == ()


def test_revoked_certificate(adatum, trey_cert) -> None:
    ca = create_root_ca("Contoso Root CA", organization="Contoso", at=AT)
    cert = ca.issue("mail.contoso.com", at=AT)
    ca.revoke(cert.certificate.serial_number, AT)
    server, _client = handshake(server_context(trey_cert), client_context(cert))
    roots = [ca.certificate]
    crl = ca.crl(AT)
    revoked = verify_peer(
        server, trusted_roots=roots, at=AT, crls=[crl], check_revocation=True, purpose="clientAuth"
    )
    assert revoked.status is S.REVOKED
    other = ca.issue("other.contoso.com", at=AT)
    server2, _ = handshake(server_context(trey_cert), client_context(other))
    fine = verify_peer(
        server2, trusted_roots=roots, at=AT, crls=[crl], check_revocation=True, purpose="clientAuth"
    )
    assert fine.status is S.VALID
    # Without revocation checking the same chain is valid; with checking but no CRL it is offline.
    assert verify_peer(server, trusted_roots=roots, at=AT, purpose="clientAuth").status is S.VALID
    offline = verify_peer(
        server, trusted_roots=roots, at=AT, check_revocation=True, purpose="clientAuth"
    )
    assert offline.status is S.REVOCATION_OFFLINE


def test_crl_check_through_an_intermediate(trey, trey_sub, trey_cert, adatum_cert) -> None:
    _server, client = handshake(server_context(trey_cert), client_context(adatum_cert))
    roots = [trey.certificate]
    both = [trey.crl(AT), trey_sub.crl(AT)]
    result = verify_peer(client, trusted_roots=roots, at=AT, crls=both, check_revocation=True)
    assert result.status is S.VALID
    # The issuing CA's CRL is missing: the leaf's revocation status is unknown.
    only_root = verify_peer(
        client, trusted_roots=roots, at=AT, crls=[trey.crl(AT)], check_revocation=True
    )
    assert only_root.status is S.REVOCATION_OFFLINE
    # A CRL past its NextUpdate at lab time is stale: also offline.
    stale = verify_peer(
        client, trusted_roots=roots, at=AT + timedelta(days=30), crls=both, check_revocation=True
    )
    assert stale.status is S.REVOCATION_OFFLINE


def test_wrong_usage_when_eku_lacks_purpose(adatum) -> None:
    server_only = adatum.issue("mx.adatum.com", at=AT, eku=("serverAuth",))
    trey_server = adatum.issue("srv.adatum.com", at=AT)
    server, _client = handshake(server_context(trey_server), client_context(server_only))
    result = verify_peer(server, trusted_roots=[adatum.certificate], at=AT, purpose="clientAuth")
    assert result.status is S.WRONG_USAGE


def test_negotiated_description(adatum_cert, trey_cert) -> None:
    server, client = handshake(
        server_context(trey_cert, allow_tls13=False), client_context(adatum_cert)
    )
    text = negotiated_description(server, server_side=True)
    # The lab's certificates are ECDSA P-256; OpenSSL picks ECDHE-ECDSA-AES256-GCM-SHA384, and
    # ECDHE runs on P-256 as between two Windows Server 2012 R2 hosts (docs/exchange-reference.md §17 C3).
    assert text == (
        "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm "
        "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 "
        "bits and key exchange algorithm CALG_ECDHE with strength 256 bits"
    )
    assert negotiated_description(client, server_side=False) == text.replace(
        "SP_PROT_TLS1_2_SERVER", "SP_PROT_TLS1_2_CLIENT"
    )
    server13, client13 = handshake(
        server_context(trey_cert, allow_tls13=True), client_context(adatum_cert, allow_tls13=True)
    )
    assert negotiated_description(client13, server_side=False) == (
        "TLS protocol SP_PROT_TLS1_3_CLIENT negotiation succeeded using bulk encryption algorithm "
        "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 "
        "bits and key exchange algorithm CALG_ECDHE with strength 256 bits"
    )


def test_ecdhe_runs_on_p256_even_when_the_client_prefers_x25519(trey_cert) -> None:
    # A client offering X25519 first (OpenSSL's default) still gets P-256, the only curve a
    # 2012 R2 SCHANNEL shares with it here.
    plain = SSL.Context(SSL.TLS_METHOD)
    plain.set_max_proto_version(SSL.TLS1_2_VERSION)
    server, _client = handshake(server_context(trey_cert), plain)
    assert server.get_group_name() in ("secp256r1", "prime256v1")


@pytest.mark.parametrize(
    ("protocol", "cipher", "group", "rsa_bits", "expected"),
    [
        # The reference's 2013 sample: TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA on P-256.
        (
            "TLSv1.2",
            "ECDHE-RSA-AES256-SHA",
            "secp256r1",
            0,
            ("CALG_AES_256", 256, "CALG_SHA1", 160, "CALG_ECDHE", 256),
        ),
        (
            "TLSv1.2",
            "ECDHE-RSA-AES256-SHA384",
            "secp384r1",
            0,
            ("CALG_AES_256", 256, "CALG_SHA_384", 384, "CALG_ECDHE", 384),
        ),
        (
            "TLSv1.2",
            "ECDHE-ECDSA-AES128-SHA256",
            "prime256v1",
            0,
            ("CALG_AES_128", 128, "CALG_SHA_256", 256, "CALG_ECDHE", 256),
        ),
        # AEAD: SCHANNEL names the PRF hash with strength 0 (a real 15.0 receive log shows
        # "CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0").
        (
            "TLSv1.2",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "secp256r1",
            0,
            ("CALG_AES_128", 128, "CALG_SHA_256", 0, "CALG_ECDHE", 256),
        ),
        (
            "TLSv1.2",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "secp256r1",
            0,
            ("CALG_AES_256", 256, "CALG_SHA_384", 0, "CALG_ECDHE", 256),
        ),
        (
            "TLSv1.2",
            "DHE-RSA-AES256-GCM-SHA384",
            "ffdhe2048",
            0,
            ("CALG_AES_256", 256, "CALG_SHA_384", 0, "CALG_DH_EPHEM", 2048),
        ),
        (
            "TLSv1.2",
            "DHE-RSA-AES128-SHA256",
            "ffdhe3072",
            0,
            ("CALG_AES_128", 128, "CALG_SHA_256", 256, "CALG_DH_EPHEM", 3072),
        ),
        (
            "TLSv1.2",
            "AES256-GCM-SHA384",
            None,
            2048,
            ("CALG_AES_256", 256, "CALG_SHA_384", 0, "CALG_RSA_KEYX", 2048),
        ),
        (
            "TLSv1.2",
            "AES128-SHA",
            None,
            2048,
            ("CALG_AES_128", 128, "CALG_SHA1", 160, "CALG_RSA_KEYX", 2048),
        ),
        (
            "TLSv1.2",
            "DES-CBC3-SHA",
            None,
            1024,
            ("CALG_3DES", 168, "CALG_SHA1", 160, "CALG_RSA_KEYX", 1024),
        ),
        (
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
            "secp256r1",
            0,
            ("CALG_AES_128", 128, "CALG_SHA_256", 0, "CALG_ECDHE", 256),
        ),
        (
            "TLSv1.3",
            "TLS_AES_256_GCM_SHA384",
            "ffdhe2048",
            0,
            ("CALG_AES_256", 256, "CALG_SHA_384", 0, "CALG_DH_EPHEM", 2048),
        ),
        (
            "TLSv1.3",
            "TLS_CHACHA20_POLY1305_SHA256",
            "x25519",
            0,
            ("CALG_CHACHA20", 256, "CALG_SHA_256", 0, "CALG_ECDHE", 255),
        ),
    ],
)
def test_schannel_algorithms_of_each_suite(protocol, cipher, group, rsa_bits, expected) -> None:
    found = schannel_algorithms(protocol, cipher, group=group, rsa_key_bits=rsa_bits)
    assert (
        found.bulk,
        found.bulk_strength,
        found.mac,
        found.mac_strength,
        found.key_exchange,
        found.key_exchange_strength,
    ) == expected


def test_success_line_is_the_2013_form() -> None:
    line = schannel_algorithms("TLSv1.2", "ECDHE-RSA-AES256-SHA", group="secp256r1")
    # Reference §17 C3, word for word.
    assert line.success_line(server_side=True) == (
        "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm "
        "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA1 with strength 160 bits "
        "and key exchange algorithm CALG_ECDHE with strength 256 bits"
    )
    assert line.success_line(server_side=False).startswith("TLS protocol SP_PROT_TLS1_2_CLIENT ")


def test_group_bits() -> None:
    assert group_bits("secp384r1") == 384
    assert group_bits("P-521") == 521
    assert group_bits("ffdhe4096") == 4096
    assert group_bits(None) == 0
    assert group_bits("X25519MLKEM768") == 0


def test_context_cache_builds_each_context_once(adatum_cert, trey_cert) -> None:
    cache = TlsContextCache()
    assert cache.server(adatum_cert) is cache.server(adatum_cert)
    assert cache.client(adatum_cert) is not cache.server(adatum_cert)
    assert cache.get(TlsRole.CLIENT, None) is cache.client(None)
    assert cache.server(trey_cert) is not cache.server(adatum_cert)
    assert len(cache) == 4


class _Recorder(Protocol):
    def __init__(self) -> None:
        self.received = b""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.received += data


def test_connection_creators_with_twisted_tls(adatum, trey, adatum_cert, trey_cert) -> None:
    cache = TlsContextCache()
    clock = Clock()
    server_factory = TLSMemoryBIOFactory(
        ServerConnectionCreator(cache.server(trey_cert)),
        False,
        Factory.forProtocol(_Recorder),
        clock=clock,
    )
    client_factory = TLSMemoryBIOFactory(
        ClientConnectionCreator(cache.client(adatum_cert), server_name="mail.treyresearch.net"),
        True,
        Factory.forProtocol(_Recorder),
        clock=clock,
    )
    client_tls, server_tls, pump = connectedServerAndClient(
        lambda: server_factory.buildProtocol(None),
        lambda: client_factory.buildProtocol(None),
    )
    pump.flush()  # the handshake
    client_tls.write(b"EHLO mail.adatum.com\r\n")
    clock.advance(0)  # Twisted aggregates small TLS writes until the next clock turn
    pump.flush()
    assert server_tls.wrappedProtocol.received == b"EHLO mail.adatum.com\r\n"
    on_server = verify_peer(
        server_tls.getHandle(), trusted_roots=[adatum.certificate], at=AT, purpose="clientAuth"
    )
    assert on_server.status is S.VALID
    assert on_server.thumbprint == adatum_cert.thumbprint
    on_client = verify_peer(client_tls.getHandle(), trusted_roots=[trey.certificate], at=AT)
    assert on_client.status is S.VALID
    assert client_tls.getHandle().get_servername() == b"mail.treyresearch.net"


def test_lab_time_in_another_time_zone_is_the_same_instant(trey, trey_cert, adatum_cert) -> None:
    _server, client = handshake(server_context(trey_cert), client_context(adatum_cert))
    # One minute after NotAfter, written in UTC+10: must be expired, not ten hours early.
    just_after = (trey_cert.not_after + timedelta(minutes=1)).astimezone(
        timezone(timedelta(hours=10))
    )
    result = verify_peer(client, trusted_roots=[trey.certificate], at=just_after)
    assert result.status is S.CERTIFICATE_EXPIRED


def test_only_the_roots_a_chain_can_use_are_loaded_and_the_verdict_is_unchanged(
    adatum, trey, trey_sub, trey_cert
) -> None:
    others = [
        create_root_ca(f"Other {n} Root CA", organization=f"Other{n}", at=AT).certificate
        for n in range(3)
    ]
    every_root = [*others, adatum.certificate, trey.certificate]
    chain = (trey_cert.certificate, trey_sub.certificate)
    assert roots_for_chain(chain, every_root) == [trey.certificate]
    assert roots_for_chain(chain, others) == []
    # A "root" that is really an intermediate pulls in its own issuer, as OpenSSL would look it
    # up: the leaf alone verifies through the trusted intermediate and the root behind it.
    leaf_only = (trey_cert.certificate,)
    store = [*others, trey_sub.certificate, trey.certificate]
    assert roots_for_chain(leaf_only, store) == [trey_sub.certificate, trey.certificate]
    assert verify_chain(leaf_only, trusted_roots=store, at=AT).status is S.VALID
    without_root = verify_chain(leaf_only, trusted_roots=[trey_sub.certificate], at=AT)
    assert without_root.status is S.UNTRUSTED_ROOT
    assert verify_chain(chain, trusted_roots=every_root, at=AT).status is S.VALID
    assert verify_chain(chain, trusted_roots=others, at=AT).status is S.UNTRUSTED_ROOT


def test_a_remembered_verdict_is_the_verdict_openssl_gives_at_every_instant(monkeypatch) -> None:
    """verify_chain reuses a verdict only while no NotBefore/NotAfter/ThisUpdate/NextUpdate is
    crossed: around each boundary the answer is OpenSSL's own, and the same question asked
    twice runs OpenSSL once."""
    ca = create_root_ca("Memo Root CA", organization="Memo", at=AT)
    cert = ca.issue("mail.memo.example", at=AT, valid_days=30)
    chain = (cert.certificate,)
    roots = (ca.certificate,)
    crl = ca.crl(AT, next_update=AT + timedelta(days=40))
    calls: list[datetime] = []
    fresh = tls_module._verify_with_openssl

    def counting(*args, **kwargs):
        calls.append(args[2])
        return fresh(*args, **kwargs)

    monkeypatch.setattr(tls_module, "_verify_with_openssl", counting)

    def both(at: datetime, crls=(crl,)):
        memo = verify_chain(chain, trusted_roots=roots, at=at, crls=crls, check_revocation=True)
        direct = fresh(chain, roots, at, tuple(crls), True, "serverAuth")
        return memo.status, direct.status, memo.detail == direct.detail

    second = timedelta(seconds=1)
    instants = [AT, AT + timedelta(hours=1)]
    for boundary in (cert.not_before, cert.not_after, AT + timedelta(days=40)):
        instants += [boundary - second, boundary, boundary + second, boundary + timedelta(hours=1)]
    # Walk forward and back, so that a verdict from either side of a boundary is on offer.
    for at in [*instants, *reversed(instants)]:
        memo, direct, same_detail = both(at)
        assert memo is direct and same_detail, at
    seen = {(memo, at) for at in instants for memo, _, _ in [both(at)]}
    assert (S.VALID, AT) in seen
    assert (S.CERTIFICATE_EXPIRED, cert.not_after + second) in seen

    calls.clear()
    verify_chain(chain, trusted_roots=roots, at=AT, crls=[crl], check_revocation=True)
    verify_chain(chain, trusted_roots=roots, at=AT + second, crls=[crl], check_revocation=True)
    assert calls == []  # both answered from the memo
    # A newly published CRL (another object, now listing the certificate) is asked afresh.
    ca.revoke(cert.certificate.serial_number, AT)
    newer = ca.crl(AT + second)
    result = verify_chain(
        chain, trusted_roots=roots, at=AT + second, crls=[newer], check_revocation=True
    )
    assert result.status is S.REVOKED and len(calls) == 1
    # Without revocation checking the flags differ, so the question differs.
    assert verify_chain(chain, trusted_roots=roots, at=AT).status is S.VALID and len(calls) == 2


def test_a_remembered_verdict_follows_trust_and_revocation_changes() -> None:
    # The same chain object asked again after the lab changed something the verdict rests on
    # (Remove-/Import-Certificate of the root, a CRL published with the leaf revoked): the
    # verdict memo is keyed by the identities of the chain, the reachable roots and the CRLs,
    # so each change is seen, and the first question, asked again, gets its first answer.
    ca = create_root_ca("Contoso Root CA", organization="Contoso", at=AT)
    leaf = ca.issue("mail.contoso.com", at=AT)
    chain = (leaf.certificate,)
    roots = [ca.certificate]

    def status(**kw: object) -> CertificateValidationStatus:
        return verify_chain(chain, at=AT, purpose="serverAuth", **kw).status  # type: ignore[arg-type]

    clean = ca.crl(AT)
    assert status(trusted_roots=roots, crls=[clean], check_revocation=True) is S.VALID
    assert status(trusted_roots=[]) is S.UNTRUSTED_ROOT
    # An equal root in another object (the root file imported again) is trusted again.
    reimported = tls_module._from_der(ca.certificate.public_bytes(serialization.Encoding.DER))
    assert status(trusted_roots=[reimported]) is S.VALID
    # A root of the same name and validity but another key (a CA built again): not the issuer.
    impostor = create_root_ca("Contoso Root CA", organization="Contoso", at=AT)
    assert status(trusted_roots=[impostor.certificate]) is not S.VALID
    ca.revoke(leaf.certificate.serial_number, AT)
    revoking = ca.crl(AT)
    assert revoking is not clean
    assert status(trusted_roots=roots, crls=[revoking], check_revocation=True) is S.REVOKED
    assert status(trusted_roots=roots, crls=[clean], check_revocation=True) is S.VALID
