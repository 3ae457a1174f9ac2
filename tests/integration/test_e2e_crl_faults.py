"""Hostile and broken CRL distribution points through a running lab (issue 10 item 8).

A server presents a certificate from its organization's own CA whose CRL distribution point is
malformed (``http://[crl…``), names another scheme, an address off 127.0.0.0/8, an SMTP port
of the lab, a server that answers SMTP or garbage, or one that never answers. Each gives a
verdict in bounded lab time, as Windows' chain engine would: revocation status unknown
(``RevocationOffline``), tolerated under exchange2013 and a ``454 4.7.5`` under exchange2010
(D5); never a hang, never an engine error, never a packet off loopback, never HTTP spoken to an
SMTP port. And CRLs are fetched only where a verdict rests on them: not for a sender whose
domain is not domain-secured, not by a sending server that does not judge the certificate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from integration_helpers import (
    configure_walkthrough,
    import_partner_root,
    lab_with_mailbox_certificate,
    new_partner_receive_connector,
    new_partner_send_connector,
    protocol_records,
    proxied_refusal_led,
    set_lists,
    verbose_default_frontend,
)
from twisted.internet.protocol import Factory, Protocol

from labsim.engine.crl import REVOCATION_TIMEOUT
from labsim.engine.receive import SmtpReceiveProtocol
from labsim.lab import Lab
from labsim.model.enums import FidelityProfile, QueueStatus
from labsim.model.lab import default_lab
from labsim.pki.ca import CertificateAuthority
from labsim.pki.certificate import ExchangeCertificate
from labsim.reactor import drive

HOSTILE = "127.0.41.1"
HOSTILE_PORT = 81
HOSTILE_URL = f"http://{HOSTILE}:{HOSTILE_PORT}/Hostile.crl"
ADATUM_CRL = "http://crl.adatum.com/AdatumRootCA.crl"
TREY_CRL = "http://crl.treyresearch.net/TreyResearchRootCA.crl"
TREY_CAS = "127.0.20.1"
ADATUM_MBX = "127.0.10.2"
QUEUE = "ADATUM-MBX1\\treyresearch.net"
CRL_TOLERATED = (
    "CRL validation failed with status RevocationOffline. Treating the failure as success."
)


# --- helpers ---------------------------------------------------------------------------------


def present_with_cdp(
    lab: Lab, org: str, server: str, names: tuple[str, ...], cdp: str
) -> ExchangeCertificate:
    """Give ``server`` a certificate from ``org``'s own root naming ``names`` whose CRL
    distribution point is ``cdp``; being the newest, STARTTLS selects it on both sides."""
    ca = lab.authorities[org.lower()]
    issuer = CertificateAuthority(ca.certificate, ca.private_key)
    issuer.crl_distribution_point = cdp  # any text, as a hostile CA would write it
    now = lab.world.now()
    # NotBefore now, a day after the lab's own certificates': the newest wins the selection.
    certificate = issuer.issue(names[0], dns_names=names, at=now, not_before=now)
    return lab.world.stores[server].add_personal(certificate)


def hostile_client_certificate(lab: Lab, cdp: str) -> ExchangeCertificate:
    """ADATUM-CAS1 (the sending server of the walkthrough) presents this certificate."""
    return present_with_cdp(lab, "Adatum", "ADATUM-CAS1", ("mail.adatum.com", "adatum.com"), cdp)


def explained(lab: Lab, prefix: str) -> str:
    return "\n".join(n for n in lab.explain() if n.startswith(prefix))


def receiver_log(lab: Lab) -> list[dict[str, str]]:
    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    return [r for r in records if r["connector-id"] == "TREY-CAS1\\From Adatum"]


def queue(lab: Lab) -> Any:
    (found,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    return found


class _Session(Protocol):
    def __init__(self, server: HostileServer) -> None:
        self.server = server
        self.lost = False

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.server.sessions.append(self)
        if self.server.greeting:
            self.transport.write(self.server.greeting)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.server.received += data
        if self.server.answer:
            self.transport.write(self.server.answer)  # type: ignore[union-attr]

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted's name
        self.lost = True


class HostileServer:
    """A TCP server on 127.0.41.1 (port 81 plus the lab's offset) that greets with
    ``greeting``, answers every read with ``answer`` (nothing: a server that never answers)."""

    def __init__(self, lab: Lab) -> None:
        self.greeting = b""
        self.answer = b""
        self.sessions: list[_Session] = []
        self.received = b""
        factory: Any = Factory.forProtocol(lambda: _Session(self))
        factory.noisy = False
        self.port = lab.world.network.listen(HOSTILE, HOSTILE_PORT, factory)

    def close(self) -> None:
        self.port.stopListening()
        for session in self.sessions:
            if not session.lost:
                transport: Any = session.transport
                transport.abortConnection()


@pytest.fixture
def hostile(lab: Lab) -> Iterator[HostileServer]:
    server = HostileServer(lab)
    try:
        yield server
    finally:
        server.close()
        lab.run_until_idle()


@pytest.fixture
def lab2010(start_lab: Callable[..., Lab]) -> Lab:
    return start_lab(dataclasses.replace(default_lab(), profile=FidelityProfile.EXCHANGE2010))


def walkthrough(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")


# --- a malformed distribution point: a verdict, not a hang -----------------------------------


def test_a_malformed_distribution_point_is_revocation_offline_and_tolerated_under_2013(
    lab: Lab,
) -> None:
    walkthrough(lab)
    hostile_client_certificate(lab, "http://[crl.adatum.com/AdatumRootCA.crl")

    # This used to raise inside the CRL fetcher and leave MAIL FROM unanswered for ever.
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Malformed")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    assert any(r["context"] == CRL_TOLERATED for r in receiver_log(lab))
    notes = explained(lab, "TREY-CAS1: revocation check")
    assert (
        "http://[crl.adatum.com/AdatumRootCA.crl fetched from 127.0.20.1: missing (not a valid URL"
        in notes
    )
    assert "chain status is RevocationOffline" in explained(
        lab, "TREY-CAS1: docs/exchange-reference.md §5.3"
    )


def test_a_malformed_distribution_point_fails_under_2010_with_454(lab2010: Lab) -> None:
    lab = lab2010
    walkthrough(lab)
    hostile_client_certificate(lab, "http://[crl.adatum.com/AdatumRootCA.crl")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Malformed 2010")

    assert lab.inbox("ben@treyresearch.net") == ()
    assert queue(lab).status is QueueStatus.RETRY
    assert proxied_refusal_led("454 4.7.5 Certificate validation failure") in queue(lab).last_error
    assert "client certificate chain status RevocationOffline" in explained(
        lab, "TREY-CAS1: docs/exchange-reference.md §5.3"
    )


# --- distribution points that are never contacted --------------------------------------------


@pytest.mark.parametrize(
    ("cdp", "why"),
    [
        ("http://192.0.2.1/Outside.crl", "address 192.0.2.1 is outside 127.0.0.0/8"),
        ("http://[2001:db8::1]/Outside.crl", "IPv6 address 2001:db8::1"),
        ("ldap:///CN=Adatum%20Root%20CA,CN=CDP,DC=adatum,DC=com", "ldap scheme"),
        (
            "http://mail.adatum.com:25/AdatumRootCA.crl",
            "not contacted: 127.0.10.1:25 is an SMTP endpoint of the lab (receive connector "
            "ADATUM-CAS1\\Default Frontend ADATUM-CAS1)",
        ),
        (
            "http://127.0.10.1:25/AdatumRootCA.crl",
            "not contacted: 127.0.10.1:25 is an SMTP endpoint of the lab",
        ),
        (
            "http://trey-mbx1.treyresearch.net:2525/X.crl",
            "not contacted: 127.0.20.2:2525 is an SMTP endpoint of the lab",
        ),
    ],
)
def test_a_distribution_point_off_loopback_or_on_an_smtp_port_is_not_contacted(
    lab: Lab, cdp: str, why: str
) -> None:
    walkthrough(lab)
    verbose_default_frontend(lab, "Adatum", "ADATUM-CAS1")
    connects: list[tuple[str, str, int]] = []
    network = lab.world.network
    real_connect = network.connect

    def connect(source: str, address: str, port: int, factory: Any, timeout: float = 30) -> Any:
        connects.append((source, address, port))
        return real_connect(source, address, port, factory, timeout)

    network.connect = connect  # type: ignore[method-assign]
    hostile_client_certificate(lab, cdp)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Not contacted")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured  # RevocationOffline, tolerated under exchange2013 (D5)
    assert f"{cdp} fetched from 127.0.20.1: missing (" in explained(lab, "TREY-CAS1: revocation")
    assert why in explained(lab, "TREY-CAS1: revocation")
    # TREY-CAS1 connected to nothing but the SMTP hop to its own Mailbox server.
    assert all(source != TREY_CAS or address == "127.0.20.2" for source, address, _ in connects)
    # ADATUM-CAS1's SMTP port never saw TREY-CAS1 (the old code spoke HTTP to it).
    adatum = protocol_records(lab.protocol_log("Adatum", "ADATUM-CAS1", "receive"))
    assert not any(r["remote-endpoint"].startswith(TREY_CAS + ":") for r in adatum)


# --- servers that answer wrong, or never ---------------------------------------------------------


@pytest.mark.parametrize(
    ("greeting", "answer", "why"),
    [
        (
            b"220 crl.hostile.test Microsoft ESMTP MAIL Service ready\r\n",
            b"500 5.3.3 Unrecognized command\r\n",
            "the answer is not HTTP",
        ),
        (b"", b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ngarbage", "the body is not a DER CRL"),
        (
            b"",
            b"HTTP/1.1 302 Found\r\nLocation: http://192.0.2.1/\r\nContent-Length: 0\r\n\r\n",
            "HTTP 302",
        ),
    ],
)
def test_a_crl_server_that_answers_garbage_is_revocation_offline(
    lab: Lab, hostile: HostileServer, greeting: bytes, answer: bytes, why: str
) -> None:
    hostile.greeting, hostile.answer = greeting, answer
    walkthrough(lab)
    hostile_client_certificate(lab, HOSTILE_URL)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Garbage")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    # The server was asked (an address literal is used as it is, without DNS) ...
    assert hostile.received.startswith(b"GET /Hostile.crl HTTP/1.1\r\n")
    assert len(hostile.sessions) == 1
    # ... and its answer made the CRL missing.
    notes = explained(lab, "TREY-CAS1: revocation check")
    assert f"{HOSTILE_URL} fetched from 127.0.20.1: missing (" in notes
    assert why in notes
    assert any(r["context"] == CRL_TOLERATED for r in receiver_log(lab))


def test_a_crl_server_that_never_answers_is_given_up_after_ten_seconds_of_lab_time(
    lab: Lab, hostile: HostileServer
) -> None:
    walkthrough(lab)
    hostile_client_certificate(lab, HOSTILE_URL)
    service = lab.transport_services["ADATUM-MBX1"]
    service.submit_new(
        mail_from="april@adatum.com",
        to=["ben@treyresearch.net"],
        cc=[],
        bcc=[],
        subject="Silent",
        body="",
    )
    world = lab.world
    assert drive(world.reactor, lambda: bool(hostile.received), bound=10), "no CRL request"
    for _ in range(10):
        world.reactor.iterate(0)
    # MAIL FROM waits for the revocation check, which waits for the silent server.
    assert not world.activity.idle
    assert lab.inbox("ben@treyresearch.net") == ()

    world.clock.jump_to(world.clock.seconds() + REVOCATION_TIMEOUT - 1)
    world.clock.run_due()
    for _ in range(10):
        world.reactor.iterate(0)
    assert lab.inbox("ben@treyresearch.net") == ()  # still waiting one second before
    world.clock.jump_to(world.clock.seconds() + 2)
    lab.run_until_idle()

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    assert any(r["context"] == CRL_TOLERATED for r in receiver_log(lab))
    assert "missing (no answer within the 10 s of the revocation check)" in explained(
        lab, "TREY-CAS1: revocation check"
    )
    # The lab gave the fetch up: its connection is closed and nothing is left busy.
    assert drive(world.reactor, lambda: hostile.sessions[0].lost, bound=10)
    assert world.activity.idle


# --- CRLs only where a verdict rests on them ---------------------------------------------------


def test_no_crl_is_fetched_for_a_sender_that_is_not_domain_secured(lab: Lab) -> None:
    # Adatum sends as in the walkthrough; TreyResearch does not list adatum.com, so its
    # Default Frontend takes the message as anonymous whatever certificate ADATUM-CAS1
    # presents (§5.3).
    configure_walkthrough(lab, "Adatum")
    import_partner_root(lab, "TreyResearch")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Anonymous")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert not message.domain_secured
    assert "client certificate CN=mail.adatum.com" in explained(lab, "TREY-CAS1: TLS with")
    assert lab.world.crl_server is not None
    assert lab.world.crl_server.requests == []  # nobody fetched any CRL
    assert "TREY-CAS1" not in lab.world.crl_cache.holders(ADATUM_CRL)


def test_no_crl_is_fetched_for_a_certificate_refused_on_its_chain(lab: Lab) -> None:
    # TreyResearch lists adatum.com but never imported Adatum's root: UntrustedRoot decides,
    # whatever the CRL would say.
    configure_walkthrough(lab, "Adatum")
    set_lists(lab, "TreyResearch", send="adatum.com", receive="adatum.com")
    new_partner_receive_connector(lab, "TreyResearch")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Untrusted")

    assert lab.inbox("ben@treyresearch.net") == ()
    assert proxied_refusal_led("454 4.7.5 Certificate validation failure") in queue(lab).last_error
    assert "client certificate chain status UntrustedRoot" in explained(
        lab, "TREY-CAS1: docs/exchange-reference.md §5.3"
    )
    assert lab.world.crl_server is not None
    assert not any(r.client == TREY_CAS for r in lab.world.crl_server.requests)


def _direct_sending(start_lab: Callable[..., Lab], *, domain_secured: bool) -> Lab:
    # D13: ADATUM-MBX1 sends itself (no proxy) and so judges TREY-CAS1's certificate when
    # treyresearch.net is in its TLSSendDomainSecureList.
    lab = start_lab(lab_with_mailbox_certificate())
    listed = "treyresearch.net" if domain_secured else None
    set_lists(lab, "Adatum", send=listed, receive=listed)
    new_partner_send_connector(lab, "Adatum", proxy=False)
    import_partner_root(lab, "Adatum")
    import_partner_root(lab, "TreyResearch")
    set_lists(lab, "TreyResearch", send="adatum.com", receive="adatum.com")
    new_partner_receive_connector(lab, "TreyResearch", remote=ADATUM_MBX)
    return lab


def test_an_opportunistic_sender_fetches_no_crl_for_the_server_certificate(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _direct_sending(start_lab, domain_secured=False)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Opportunistic")

    assert len(lab.inbox("ben@treyresearch.net")) == 1
    assert lab.world.crl_server is not None
    fetched_by_sender = [r for r in lab.world.crl_server.requests if r.client == ADATUM_MBX]
    assert fetched_by_sender == []
    assert "revocation not checked" in explained(lab, "ADATUM-MBX1: certificate")


def test_a_domain_secured_sender_gives_up_a_hostile_server_crl_and_goes_on(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _direct_sending(start_lab, domain_secured=True)
    present_with_cdp(
        lab,
        "TreyResearch",
        "TREY-CAS1",
        ("mail.treyresearch.net", "treyresearch.net"),
        "http://[crl.treyresearch.net/TreyResearchRootCA.crl",
    )

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Sender side")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    assert "chain status RevocationOffline (CRL unreachable: tolerated" in explained(
        lab, "ADATUM-MBX1: docs/exchange-reference.md §4.3"
    )
    assert "missing (not a valid URL" in explained(lab, "ADATUM-MBX1: revocation check")


def test_a_client_that_leaves_while_mail_from_waits_for_the_crl_costs_no_error(
    lab: Lab, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions: list[SmtpReceiveProtocol] = []
    handshake = SmtpReceiveProtocol.handshakeCompleted

    def spy(self: SmtpReceiveProtocol) -> None:
        sessions.append(self)
        handshake(self)

    monkeypatch.setattr(SmtpReceiveProtocol, "handshakeCompleted", spy)
    walkthrough(lab)
    hostile_client_certificate(lab, HOSTILE_URL)
    lab.transport_services["ADATUM-MBX1"].submit_new(
        mail_from="april@adatum.com",
        to=["ben@treyresearch.net"],
        cc=[],
        bcc=[],
        subject="Gone",
        body="",
    )
    world = lab.world
    assert drive(world.reactor, lambda: bool(hostile.received), bound=10), "no CRL request"
    (trey,) = [s for s in sessions if s.server_name == "TREY-CAS1"]
    transport: Any = trey.transport
    transport.abortConnection()  # the sending server vanishes while MAIL FROM waits
    for _ in range(10):
        world.reactor.iterate(0)

    world.clock.jump_to(world.clock.seconds() + REVOCATION_TIMEOUT + 1)
    lab.run_until_idle()

    # (ADATUM-CAS1's own notes about its lost connection are the proxied path's business.)
    assert [n for n in lab.explain() if n.startswith("TREY-CAS1: internal error")] == []
    assert world.activity.idle
