"""Message paths built from a real lab run: the walkthrough's hops, certificates and decisions,
and a break-fix scenario's failed attempts."""

from __future__ import annotations

from pytest import MonkeyPatch

from labsim.engine import world as world_module
from labsim.lab import Lab
from labsim.render.paths import MessagePath, message_key, message_path, message_paths
from tests.render.conftest import ROOT, RunKept


def test_walkthrough_message_goes_mbx_cas_partner_cas_partner_mbx(walkthrough: Lab) -> None:
    paths = message_paths(walkthrough)
    assert [p.subject for p in paths] == ["Hello Trey", "Hello Adatum"]
    hello = paths[0]
    assert hello.sender == "april@adatum.com"
    assert hello.recipients == ("ben@treyresearch.net",)
    assert hello.outcome == "delivered-secured"
    assert "AuthDomain adatum.com" in hello.outcome_text
    route = [(h.client_server, h.server_server, h.port) for h in hello.hops]
    assert route == [
        ("ADATUM-MBX1", "ADATUM-CAS1", 717),
        ("ADATUM-CAS1", "TREY-CAS1", 25),
        ("TREY-CAS1", "TREY-MBX1", 2525),
    ]
    assert [h.index for h in hello.hops] == [0, 1, 2]


def test_the_partner_hop_shows_certificates_decision_and_connectors(walkthrough: Lab) -> None:
    hop = message_paths(walkthrough)[0].hops[1]
    assert hop.secured and not hop.failed and not hop.internal
    assert hop.ehlo == "mail.adatum.com"
    assert hop.starttls
    assert hop.address == "127.0.20.1"
    assert hop.client_fqdn == "mail.adatum.com"
    assert hop.server_fqdn == "mail.treyresearch.net"
    assert hop.connector == "TREY-CAS1\\From Adatum"
    assert hop.send_connector == "To TreyResearch"
    assert hop.client_certificate is not None
    assert hop.client_certificate.subject == "CN=mail.adatum.com, O=Adatum"
    assert hop.client_certificate.issuer == "CN=Adatum Root CA, O=Adatum"
    assert hop.client_certificate.status == "Valid"
    assert hop.server_certificate is not None
    assert hop.server_certificate.subject == "CN=mail.treyresearch.net, O=TreyResearch"
    # The CAS proxies for a FrontendProxyEnabled connector: it does not judge the server (D2).
    assert hop.server_certificate.status == "Valid (not enforced)"
    assert "adatum.com is in TLSReceiveDomainSecureList" in hop.decision
    assert "session identity Partner" in hop.decision
    assert any("labsim decision D2" in d for d in hop.decisions)
    assert hop.reply.startswith("250 2.6.0")
    # Both ends log (Verbose connectors): the hop names both protocol-log sessions.
    assert hop.session_id and hop.log_refs == (
        f"ADATUM-CAS1:send:{hop.log_refs[0].rsplit(':', 1)[1]}",
        f"TREY-CAS1:receive:{hop.session_id}",
    )
    assert any(
        hop.session_id in line
        for line in walkthrough.protocol_log("TreyResearch", "TREY-CAS1", "receive")
    )


def test_internal_hops_are_exchange_server_sessions(walkthrough: Lab) -> None:
    first, _, last = message_paths(walkthrough)[0].hops
    for hop in (first, last):
        assert hop.internal and not hop.secured and not hop.failed
        assert "authenticated as ExchangeServer" in hop.decision
    assert first.connector == "ADATUM-CAS1\\Outbound Proxy Frontend ADATUM-CAS1"
    assert last.server_certificate is not None and last.server_certificate.subject == "CN=TREY-MBX1"


def test_message_path_by_message_id_or_its_url_form(walkthrough: Lab) -> None:
    hello = message_paths(walkthrough)[0]
    assert hello.message_id.startswith("<") and hello.message_id.endswith(">")
    key = message_key(hello.message_id)
    assert key == hello.key and "<" not in key and ">" not in key
    assert message_path(walkthrough, key) == hello
    assert message_path(walkthrough, hello.message_id) == hello
    assert message_path(walkthrough, "<nobody@nowhere>") is None


def test_failed_attempts_show_the_sending_side_verdict(run_kept: RunKept) -> None:
    # Break-fix 02: TreyResearch does not trust Adatum's root; the first message is refused
    # at MAIL FROM by the receiving side (454 4.7.5), then delivered once trust is fixed.
    lab, result = run_kept(
        ROOT / "scenarios" / "breakfix" / "02-sender-root-not-trusted-by-receiver.toml"
    )
    assert result.passed
    path = message_paths(lab)[0]
    refused = path.hops[0]
    assert refused.failed and not refused.secured
    assert refused.reply == "454 4.7.5 Certificate validation failure"
    assert "client certificate chain status UntrustedRoot" in refused.decision
    assert refused.client_certificate is not None
    assert refused.client_certificate.status == "UntrustedRoot"
    assert path.outcome == "delivered-secured"
    assert any(h.secured for h in path.hops[1:])


def test_a_long_running_lab_keeps_the_newest_session_records(
    run_kept: RunKept, monkeypatch: MonkeyPatch
) -> None:
    lab, _ = run_kept(ROOT / "scenarios" / "domain-security-2013.toml", steps=0)
    monkeypatch.setattr(world_module, "SESSION_RECORDS_KEPT", 2)
    made = [lab.world.new_session_record("127.0.10.2") for _ in range(3)]
    assert lab.world.session_records == made[1:]
    assert [r.number for r in made] == sorted({r.number for r in made})


def test_two_messages_on_one_session_each_get_their_own_reply(run_kept: RunKept) -> None:
    lab, _ = run_kept(ROOT / "scenarios" / "domain-security-2013.toml", steps=14)
    lab.run_shell(
        "Adatum",
        'Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject "One"\n'
        'Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject "Two"',
    )
    paths = {p.subject: p for p in message_paths(lab)}
    one, two = paths["One"], paths["Two"]

    def sessions(path: MessagePath) -> set[tuple[str, str, object]]:
        return {(h.client_server, h.server_server, h.at) for h in path.hops}

    assert sessions(one) & sessions(two), "both messages went over the same sessions"
    for path in (one, two):
        assert path.outcome == "delivered-secured"
        for hop in path.hops:
            assert path.message_id in hop.reply, (path.subject, hop.reply)


def test_a_client_certificate_the_receiver_did_not_judge_is_not_enforced(
    run_kept: RunKept,
) -> None:
    # Break-fix 05: TreyResearch's TLSReceiveDomainSecureList lacks adatum.com at first, so
    # TREY-CAS1 keeps the session anonymous whatever certificate ADATUM-MBX1 presents.
    lab, result = run_kept(
        ROOT / "scenarios" / "breakfix" / "05-receive-list-missing-sender-domain.toml"
    )
    assert result.passed
    first = message_paths(lab)[0].hops[0]
    assert not first.secured
    assert first.client_certificate is not None
    assert first.client_certificate.status == "Valid (not enforced)"
    assert "is not in TLSReceiveDomainSecureList" in first.decision
