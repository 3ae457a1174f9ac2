"""The lab's sending side against a hostile server on loopback that answers at random: garbage,
wrong codes, multi-line junk, injected STARTTLS responses, TLS that breaks, early close
(issue 10, what to build 5).

ADATUM-MBX1 sends to evil.example.test through a send connector whose smart host is the hostile
server (127.0.40.1), directly or proxied through ADATUM-CAS1 (FrontendProxyEnabled). The server
plays a generated script, one answer per command line across sessions, then behaves. Whatever
it answered:

* the lab goes idle (no session or queue left hanging), bounded;
* no engine error and no unhandled Twisted error;
* the message is never lost: after the first attempt it was handed on, NDR'd or is queued; an
  hour later (the server now behaving) it was handed on or NDR'd;
* a normal message sent afterwards is delivered.

What the lab does not survive yet is kept as strict xfails, so each flips to a failure once
fixed (then drop the mark): a silent server (``test_a_silent_server``: no send-side timeouts,
issue 10 item 2), any hostile server on the proxied path (item 5), and, on the direct path,
wrong replies later in the session, replies beyond the one a command asks for, and a close
right after RCPT (the corpus has one small case for each). ``test_hostile_greeting_direct``
(a hostile banner and EHLO reply, then a behaving server) is what the lab survives today; it
guards that in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_helpers import (
    CLOSE,
    HOSTILE_ADDRESS,
    JUNK,
    LONG_LINE,
    SILENCE,
    TLS,
    TLS_GARBAGE,
    HostileScript,
    TwistedErrors,
    assert_healthy,
    assert_still_delivers,
    bare_id,
    hostile_server,
    hostile_tls_options,
    message_whereabouts,
    running_lab,
)
from fuzz_profiles import DEEP, fuzz_settings
from hypothesis import event, given
from hypothesis import strategies as st

from labsim.lab import Lab
from labsim.model.enums import QueueStatus
from labsim.reactor import LabStuckError

CODES = [
    b"220 evil.example.test ESMTP\r\n",
    b"250 2.0.0 ok\r\n",
    b"250-evil.example.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
    b"354 go ahead\r\n",
    b"221 2.0.0 bye\r\n",
    b"421 4.3.2 go away\r\n",
    b"451 4.7.0 try later\r\n",
    b"452 4.5.3 too many\r\n",
    b"454 4.7.5 no TLS for you\r\n",
    b"500 5.5.1 what\r\n",
    b"550 5.1.1 no such user\r\n",
    b"554 5.7.1 rejected\r\n",
    b"999 out of range\r\n",
    b"2500 too long a code\r\n",
    b"25 short\r\n",
    b"250\r\n",
    b"250-mixed\r\n550 codes\r\n",
    b"abc not a code\r\n",
    b"\r\n",
    b"250 ok\n",
]
# More than one reply to one command (a STARTTLS response injected behind the 220, a second
# banner): the direct path hangs or fails an engine assertion (see the corpus).
EXTRA_REPLIES = [
    b"220 2.0.0 ready\r\n250-injected.example\r\n250 INJECTED\r\n",
    b"250 2.0.0 ok\r\n250 2.0.0 and once more\r\n",
]
# Replies that never end: for the lab they are silence (see test_a_silent_server).
UNFINISHED = [b"250-unfinished\r\n", b"250 ok\r", b"250 no line end"]
single_replies = st.one_of(
    st.sampled_from(CODES),
    st.sampled_from(CODES),
    # Garbage lines, never a continuation line (that would be an unfinished reply).
    st.binary(max_size=100)
    .filter(lambda b: b[3:4] != b"-" and b"\n" not in b)
    .map(lambda b: b + b"\r\n"),
    st.integers(min_value=2, max_value=3000).map(lambda n: f"{JUNK}{n}"),
    st.just(LONG_LINE),
)
tame_answers = single_replies | st.sampled_from([TLS, TLS_GARBAGE])
# TLS cannot start before the server has said anything; the banner may be broken TLS though.
banners = single_replies | st.sampled_from([TLS_GARBAGE, CLOSE])
# The banner and the reply to EHLO only; the rest of the session behaves.
tame_greetings = st.builds(
    HostileScript, banner=banners, answers=st.lists(tame_answers, max_size=1)
)
tame_scripts = st.builds(HostileScript, banner=banners, answers=st.lists(tame_answers, max_size=10))
all_answers = tame_answers | st.sampled_from([*EXTRA_REPLIES, CLOSE])
all_scripts = st.builds(
    HostileScript,
    banner=banners | st.sampled_from(EXTRA_REPLIES),
    answers=st.lists(all_answers, max_size=10),
)

SEND_CONNECTOR = (
    'New-SendConnector -Name "To Evil" -Usage Internet -AddressSpaces evil.example.test '
    "-DNSRoutingEnabled $false -SmartHosts {address} -FrontendProxyEnabled {proxy}"
)


def play(certs: Path, script: HostileScript, *, proxy: bool) -> None:
    """Send one message from April to the hostile server and check the lab afterwards."""
    with running_lab(certs) as (lab, errors):
        result = lab.run_shell(
            "Adatum",
            SEND_CONNECTOR.format(address=HOSTILE_ADDRESS, proxy="$true" if proxy else "$false"),
        )
        assert result.error is None, result.error
        port = hostile_server(lab, script, hostile_tls_options(lab))
        try:
            message_id = bare_id(
                lab.send(mail_from="april@adatum.com", to=["eve@evil.example.test"], subject="x")
            )
            check(lab, errors, message_id, script)
        finally:
            port.stopListening()


def check(lab: Lab, errors: TwistedErrors, message_id: str, script: HostileScript) -> None:
    """The properties a hostile server must leave true (see the module docstring)."""
    assert lab.world.activity.idle, lab.world.activity.describe()
    assert_healthy(lab, errors)
    assert message_id in message_whereabouts(lab), "the message is nowhere after one attempt"
    event(f"handed on at once: {script.messages > 0}")
    lab.advance(3600)  # retries meet a server that now behaves
    assert_healthy(lab, errors)
    waiting = [m for m in lab.messages("Adatum") if bare_id(m.message_id) == message_id]
    if waiting:
        # A server that keeps misbehaving (its banner, say) is retried for two days, as
        # Exchange does; what must hold is that the queue waits in Retry with the reason,
        # never Active with no LastError (wedged).
        (queue,) = [q for q in lab.queues("Adatum") if q.identity == waiting[0].queue]
        assert queue.status is QueueStatus.RETRY and queue.last_error, queue
    assert message_id in message_whereabouts(lab), "the message was lost"
    assert_still_delivers(lab)
    assert_healthy(lab, errors)


@fuzz_settings(fast=12, deep=300)
@given(script=tame_greetings)
def test_hostile_greeting_direct(certs: Path, script: HostileScript) -> None:
    play(certs, script, proxy=False)


@fuzz_settings(fast=12, deep=300)
@given(script=tame_scripts)
def test_hostile_server_direct(certs: Path, script: HostileScript) -> None:
    play(certs, script, proxy=False)


@fuzz_settings(fast=12, deep=300)
@given(script=all_scripts)
def test_hostile_server_direct_any_answer(certs: Path, script: HostileScript) -> None:
    play(certs, script, proxy=False)


@fuzz_settings(fast=12, deep=300)
@given(script=tame_scripts)
def test_hostile_server_through_the_frontend_proxy(certs: Path, script: HostileScript) -> None:
    play(certs, script, proxy=True)


@pytest.mark.xfail(
    strict=True,
    raises=LabStuckError,
    reason="issue 10 item 2, by design for now: the send side gives up a silent server after "
    "ConnectionInactivityTimeOut of lab time, but a scenario-driven lab's clock runs at real "
    "speed while it waits on a peer, so the wait ends in the lab's did-not-settle error",
)
# The corpus replays plain silence (direct); CI adds an unfinished reply, the deep profile all.
@pytest.mark.parametrize(
    ("banner", "proxy"),
    [(b, p) for b in (SILENCE, *UNFINISHED) for p in (False, True)]
    if DEEP
    else [(UNFINISHED[0], True)],
)
def test_a_silent_server(certs: Path, banner: bytes | str, proxy: bool) -> None:
    play(certs, HostileScript(banner=banner), proxy=proxy)
