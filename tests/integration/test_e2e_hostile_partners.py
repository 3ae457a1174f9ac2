"""Hostile partner servers on the proxied and the direct path (issue 10 item 5), and the send
side's timeouts.

A partner that greets with garbage, sends a 200,000-line banner, answers with bad reply codes,
drops the connection in the middle of the TLS handshake, or says nothing at all (before the
banner, or after injecting replies behind its STARTTLS 220) must never hold a queue Active: the
queue goes to Retry with a LastError in Exchange's words, later mail queues behind it without
waiting, and once the partner behaves the queue delivers everything. Through the Client Access
server (FrontendProxyEnabled) the Mailbox server's LastError is the CAS's
``450 4.7.0 Proxy session setup failed on Frontend with '…'`` (docs/exchange-reference.md §17 C2). A partner that
greylists (a transient refusal of MAIL FROM or of every RCPT) is a failed session too, on both
paths; a transient refusal of one recipient among accepted ones stays that recipient's reply.

Silent partners are waited out on the lab clock (moved by hand, never slept on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hostile_partners import (
    BEHAVIOURS,
    PARTNER_ADDRESS,
    PARTNER_DOMAIN,
    HostilePartner,
    HostileSession,
    accepting_partner,
)
from integration_helpers import sh

from labsim.lab import Lab
from labsim.model.enums import QueueStatus
from labsim.model.mail import QueueView
from labsim.reactor import drive

PROXY_SETUP_FAILED = (
    "{{LED=450 4.7.0 Proxy session setup failed on Frontend with '451 4.4.0 Primary target IP "
    'address responded with: "{reason}." Attempted failover to alternate host, but that did '
    "not succeed. Either there are no alternate hosts, or delivery failed to all alternate "
    "hosts. The last endpoint attempted was " + PARTNER_ADDRESS + ":25'}}"
)
DROPPED = "421 4.4.2 Connection dropped due to SocketError"
TIMED_OUT = "421 4.4.2 Connection dropped due to TimedOut"
TLS_LOST = "451 4.4.0 TLS negotiation failed with error ConnectionLost"

# What each partner that answers at once leaves as the reason (direct sending).
AT_ONCE = {
    "garbage banner": DROPPED,
    "200,000-line banner": DROPPED,
    "bad reply codes": DROPPED,
    "truncated TLS": TLS_LOST,
    "421 to EHLO": "421 4.3.2 Service not available",  # the server's own reason is kept
}
SILENT = ("nothing at all", "injected STARTTLS response")


@pytest.fixture
def partner_lab(lab: Lab) -> Iterator[Callable[[str, bool], HostilePartner]]:
    """The default lab with a send connector to the hostile partner; yields a starter."""
    started: list[HostilePartner] = []

    def start(behaviour: str, proxy: bool) -> HostilePartner:
        flag = "$true" if proxy else "$false"
        sh(
            lab,
            "Adatum",
            f'New-SendConnector -Name "To Hostile" -Usage Internet -AddressSpaces {PARTNER_DOMAIN} '
            f"-DNSRoutingEnabled $false -SmartHosts {PARTNER_ADDRESS} "
            f"-FrontendProxyEnabled {flag} -ProtocolLoggingLevel Verbose",
        )
        partner = BEHAVIOURS[behaviour]()
        partner.listen(lab)
        started.append(partner)
        return partner

    try:
        yield start
    finally:
        for partner in started:
            partner.stop()


def hostile_queue(lab: Lab) -> QueueView:
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain != "Submission"]
    return queue


def submit(lab: Lab, subject: str) -> None:
    """Submit without waiting for the lab to settle (a silent partner holds it busy)."""
    lab.transport_services["ADATUM-MBX1"].submit_new(
        mail_from="april@adatum.com",
        to=[f"eve@{PARTNER_DOMAIN}"],
        cc=[],
        bcc=[],
        subject=subject,
        body="",
    )


FAILED_OVER = (
    '{{LED=451 4.4.0 Primary target IP address responded with: "{reason}." Attempted failover '
    "to alternate host, but that did not succeed. Either there are no alternate hosts, or "
    "delivery failed to all alternate hosts. The last endpoint attempted was "
    + PARTNER_ADDRESS
    + ":25}}"
)
"""The Mailbox server's own LastError when it sends directly (§17 C1)."""


def expected_last_error(reason: str, proxy: bool) -> str:
    return (PROXY_SETUP_FAILED if proxy else FAILED_OVER).format(reason=reason)


def behaves_from_now_on(lab: Lab, partner: HostilePartner) -> int:
    """The partner mends its ways (its next sessions accept mail); return how many messages
    it took at the next retry, five minutes later (TransientFailureRetryInterval)."""
    good, state = accepting_partner()
    partner.on_connect, partner.on_command = good.on_connect, good.on_command
    lab.advance(5 * 60)
    return state.messages


@pytest.mark.parametrize("proxy", [True, False], ids=["proxied", "direct"])
@pytest.mark.parametrize("behaviour", sorted(AT_ONCE))
def test_a_partner_that_breaks_the_session_puts_the_queue_in_retry(
    lab: Lab, partner_lab: Callable[[str, bool], HostilePartner], behaviour: str, proxy: bool
) -> None:
    partner = partner_lab(behaviour, proxy)

    lab.send(mail_from="april@adatum.com", to=[f"eve@{PARTNER_DOMAIN}"], subject="first")

    queue = hostile_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert expected_last_error(AT_ONCE[behaviour], proxy) in queue.last_error
    if proxy:  # the Mailbox server's session went to the CAS
        assert "{FQDN=mail.adatum.com};{IP=127.0.10.1}" in queue.last_error
    # Later mail is not stuck behind it: it queues, and the lab settles at once.
    lab.send(mail_from="april@adatum.com", to=[f"eve@{PARTNER_DOMAIN}"], subject="second")
    assert hostile_queue(lab).message_count == 2
    assert behaves_from_now_on(lab, partner) == 2
    assert hostile_queue(lab).message_count == 0


def waiting_for_partner(
    lab: Lab, partner: HostilePartner, behaviour: str, sender: str = "ADATUM-MBX1"
) -> None:
    """Drive the lab until the session waits for the silent partner."""
    if behaviour == "nothing at all":
        # The lab's side of the connection is up (its timers run from here): the send log of
        # the server that connects has the connect record.
        connect = f",{PARTNER_ADDRESS}:25,+,"
        done = lambda: any(connect in line for line in lab.protocol_log("Adatum", sender, "send"))  # noqa: E731
    else:  # the partner got the ClientHello and will never answer it
        done = lambda: any(s.received for s in partner.open)  # noqa: E731
    assert drive(lab.world.reactor, done, bound=10)
    lab.world.clock.run_due()
    assert hostile_queue(lab).status is QueueStatus.ACTIVE


def move_clock(lab: Lab, seconds: float) -> None:
    clock = lab.world.clock
    clock.jump_to(clock.seconds() + seconds)


@pytest.mark.parametrize("proxy", [True, False], ids=["proxied", "direct"])
@pytest.mark.parametrize("behaviour", SILENT)
def test_a_silent_partner_is_given_up_after_the_inactivity_timeout(
    lab: Lab, partner_lab: Callable[[str, bool], HostilePartner], behaviour: str, proxy: bool
) -> None:
    partner = partner_lab(behaviour, proxy)
    submit(lab, "first")
    waiting_for_partner(lab, partner, behaviour, "ADATUM-CAS1" if proxy else "ADATUM-MBX1")

    # Direct: the send connector's ConnectionInactivityTimeOut (10 minutes). Proxied: the CAS
    # gives up first, after its Outbound Proxy Frontend connector's 5-minute inactivity
    # timeout, so that the Mailbox server learns the CAS's reason before its own session ends.
    timeout = 5 * 60 if proxy else 10 * 60
    move_clock(lab, timeout - 2)
    lab.world.clock.run_due()
    queue = hostile_queue(lab)
    assert queue.status is QueueStatus.ACTIVE and queue.last_error == ""
    move_clock(lab, 3)
    lab.run_until_idle()

    queue = hostile_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert expected_last_error(TIMED_OUT, proxy) in queue.last_error
    lab.send(mail_from="april@adatum.com", to=[f"eve@{PARTNER_DOMAIN}"], subject="second")
    assert hostile_queue(lab).message_count == 2
    assert behaves_from_now_on(lab, partner) == 2


def test_a_partner_that_trickles_its_banner_is_cut_off_after_the_session_limit(
    lab: Lab, partner_lab: Callable[[str, bool], HostilePartner]
) -> None:
    # One banner line every 9 minutes keeps the partner under the inactivity timeout forever;
    # the whole session is bounded (one hour, labsim's bound).
    partner = partner_lab("nothing at all", False)
    clock = lab.world.clock

    def trickle(session: HostileSession) -> None:
        if session in partner.open:
            session.send(b"220-still greeting\r\n")
            clock.call_later(9 * 60, lambda: trickle(session))

    partner.on_connect = trickle
    submit(lab, "first")
    waiting_for_partner(lab, partner, "nothing at all")
    for _ in range(6):  # 54 minutes: the session goes on
        move_clock(lab, 9 * 60)
        clock.run_due()  # the partner writes its line (at once: loopback writes are eager)
        for _ in range(3):  # and the lab reads it: the socket is readable already
            lab.world.reactor.iterate(0)
        assert hostile_queue(lab).status is QueueStatus.ACTIVE
    move_clock(lab, 7 * 60)
    lab.run_until_idle()

    queue = hostile_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert FAILED_OVER.format(reason=TIMED_OUT) in queue.last_error


GREYLISTED = "451 4.7.1 Greylisted, try again later"


def _refusing(verb: str, refused: Callable[[str], bool]) -> HostilePartner:
    """A plain partner that answers ``verb`` for the addresses ``refused`` picks with
    :data:`GREYLISTED` (the command comes upper-cased), and accepts everything else."""
    in_data = False

    def on_command(session: HostileSession, command: str) -> None:
        nonlocal in_data
        word = command.split(" ")[0].split(":")[0]
        if in_data:
            if command == ".":
                in_data = False
                session.send(b"250 2.6.0 queued\r\n")
        elif word in ("EHLO", "HELO"):
            session.send(b"250 hostile.example.test\r\n")
        elif word == verb and refused(command):
            session.send(GREYLISTED.encode() + b"\r\n")
        elif word == "DATA":
            in_data = True
            session.send(b"354 go ahead\r\n")
        elif word == "QUIT":
            session.send(b"221 2.0.0 bye\r\n")
            session.close()
        else:  # MAIL, RCPT, RSET
            session.send(b"250 2.0.0 ok\r\n")

    return HostilePartner(lambda s: s.send(b"220 hostile.example.test ESMTP\r\n"), on_command)


@pytest.mark.parametrize("proxy", [True, False], ids=["proxied", "direct"])
@pytest.mark.parametrize("verb", ["MAIL", "RCPT"])
def test_a_transient_refusal_before_any_recipient_is_a_failed_session_in_last_error(
    lab: Lab, partner_lab: Callable[[str, bool], HostilePartner], verb: str, proxy: bool
) -> None:
    # A greylisting partner refuses MAIL FROM (or every RCPT): the session to it failed, and the
    # queue says so in the failover form, inside the proxy's sentence when the Client Access
    # server made the session (§17 C1, C2), never the bare reply.
    BEHAVIOURS["greylisting"] = lambda: _refusing(verb, lambda command: True)
    try:
        partner_lab("greylisting", proxy)
    finally:
        del BEHAVIOURS["greylisting"]

    lab.send(mail_from="april@adatum.com", to=[f"eve@{PARTNER_DOMAIN}"], subject="first")

    queue = hostile_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert expected_last_error(GREYLISTED, proxy) in queue.last_error


@pytest.mark.parametrize("proxy", [True, False], ids=["proxied", "direct"])
def test_a_transient_refusal_of_one_recipient_stays_that_recipients_reply(
    lab: Lab, partner_lab: Callable[[str, bool], HostilePartner], proxy: bool
) -> None:
    # The partner took eve and greylisted mallory: the session worked, and only mallory waits,
    # with the partner's own reply (on both paths alike).
    BEHAVIOURS["greylisting"] = lambda: _refusing("RCPT", lambda command: "MALLORY" in command)
    try:
        partner_lab("greylisting", proxy)
    finally:
        del BEHAVIOURS["greylisting"]

    lab.send(
        mail_from="april@adatum.com",
        to=[f"eve@{PARTNER_DOMAIN}", f"mallory@{PARTNER_DOMAIN}"],
        subject="first",
    )

    queue = hostile_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert f"{{LED={GREYLISTED}}}" in queue.last_error
