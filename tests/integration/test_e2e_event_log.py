"""The Application event log on a real lab: the Domain Security and STARTTLS certificate events
are written by the server that takes the decision, under its role's source, at lab time, with
Exchange's text; Get-EventLog reads them (docs/fidelity.md, "The Application event log")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from integration_helpers import sh

from labsim.interactive import InteractiveShell
from labsim.lab import Lab
from labsim.logs.event_log import EntryType, EventLogEntry
from tests.integration.test_e2e_queue_control import trusted_partners


def events(lab: Lab, server: str, event_id: int) -> list[EventLogEntry]:
    return [e for e in lab.event_log_entries(server) if e.event_id == event_id]


def test_partner_certificate_without_the_domain_gives_11016_on_the_sending_mailbox_server(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    # TREY-CAS1's partner connector presents a certificate that names only a host two labels
    # below treyresearch.net (D4: it does not cover the domain).
    sh(
        lab,
        "TreyResearch",
        "New-LabCertificate -Server TREY-CAS1 -Issuer own -SubjectName "
        '"CN=smtp.hq.treyresearch.net" -DomainName smtp.hq.treyresearch.net -Services SMTP\n'
        'Set-ReceiveConnector "TREY-CAS1\\From Adatum" -Fqdn smtp.hq.treyresearch.net',
    )
    sent_at = lab.now()
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Budget")
    assert lab.inbox("ben@treyresearch.net") == ()

    # The Mailbox server holds the session to the partner (no proxy): it decides and logs.
    (entry,) = events(lab, "ADATUM-MBX1", 11016)
    assert entry.source == "MSExchangeTransport"
    assert entry.entry_type is EntryType.ERROR
    assert entry.instance_id == 0xC000_0000 | 11016 == 3221236488
    assert entry.category == "MessageSecurity"
    assert entry.machine_name == "adatum-mbx1.adatum.com"
    assert entry.replacement_strings == ("treyresearch.net", "To TreyResearch")
    assert entry.message.startswith(
        "A secure connection to domain-secured domain 'treyresearch.net' on connector 'To "
        "TreyResearch' could not be established because the Transport Layer Security (TLS) "
        "certificate of the remote server does not contain the domain name."
    )
    assert sent_at <= entry.time_generated <= lab.now()
    assert events(lab, "ADATUM-CAS1", 11016) == []

    # The retry five minutes later meets the same certificate: within the suppression period
    # the event is not written again; once the period is over it is.
    lab.advance(5 * 60)
    assert len(events(lab, "ADATUM-MBX1", 11016)) == 1
    lab.advance(15 * 60)
    later = events(lab, "ADATUM-MBX1", 11016)
    assert len(later) == 2
    assert later[1].index > later[0].index
    assert later[1].time_generated - later[0].time_generated >= timedelta(minutes=15)

    table = sh(lab, "Adatum", "Get-EventLog Application -ComputerName ADATUM-MBX1 -Newest 1")
    header, dashes, row = table.splitlines()
    assert header == "   Index Time          EntryType   Source                 InstanceID Message"
    assert dashes == "   ----- ----          ---------   ------                 ---------- -------"
    time = later[1].time_generated.strftime("%b %d %H:%M")
    assert row == (
        f"       2 {time}  Error       MSExchangeTransport    3221236488 "
        "A secure connection to domain-secured domain 't..."
    )


def test_proxied_partner_send_writes_no_11016_as_nobody_enforces_it(
    start_lab: Callable[..., Lab],
) -> None:
    # Who decides when the CAS proxies? Nobody (labsim decision D2): the CAS holds the session
    # but Exchange applies no sending-side Domain Security in this mode, so no server writes
    # 11016 and the partner with the bad certificate still gets the mail.
    lab = trusted_partners(start_lab)
    sh(
        lab,
        "TreyResearch",
        "New-LabCertificate -Server TREY-CAS1 -Issuer own -SubjectName "
        '"CN=smtp.hq.treyresearch.net" -DomainName smtp.hq.treyresearch.net -Services SMTP\n'
        'Set-ReceiveConnector "TREY-CAS1\\From Adatum" -Fqdn smtp.hq.treyresearch.net\n'
        'Set-ReceiveConnector "TREY-CAS1\\From Adatum" -RemoteIPRanges 127.0.10.1',
    )
    sh(lab, "Adatum", 'Set-SendConnector "To TreyResearch" -FrontendProxyEnabled $true')
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Proxied")

    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["Proxied"]
    assert events(lab, "ADATUM-CAS1", 11016) == []
    assert events(lab, "ADATUM-MBX1", 11016) == []


def test_receive_connector_fqdn_without_certificate_gives_12014_on_the_client_access_server(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    sh(
        lab,
        "TreyResearch",
        'Set-ReceiveConnector "TREY-CAS1\\From Adatum" -Fqdn mx.treyresearch.net',
    )
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="No TLS")

    (entry,) = events(lab, "TREY-CAS1", 12014)
    assert entry.source == "MSExchangeFrontEndTransport"
    assert entry.category == "TransportService"
    assert entry.instance_id == 3221237486
    assert entry.message == (
        "Microsoft Exchange could not find a certificate that contains the domain name "
        "mx.treyresearch.net in the personal store on the local computer. Therefore, it is unable "
        "to support the STARTTLS SMTP verb for the connector From Adatum with a FQDN parameter of "
        "mx.treyresearch.net. If the connector's FQDN is not specified, the computer's FQDN is "
        "used. Verify the connector configuration and the installed certificates to make sure "
        "that there is a certificate with a domain name for that FQDN. If this certificate "
        "exists, run Enable-ExchangeCertificate -Services SMTP to make sure that the Microsoft "
        "Exchange Transport service has access to the certificate key."
    )
    # The sender, told no STARTTLS by a domain-secured partner, logs why it gave up.
    (refused,) = events(lab, "ADATUM-MBX1", 11014)
    assert refused.replacement_strings == ("treyresearch.net", "To TreyResearch")

    listed = sh(
        lab,
        "TreyResearch",
        "Get-EventLog Application -Source MSExchangeFrontEnd* -EntryType Error | fl",
        server="TREY-CAS1",
    )
    assert "Source             : MSExchangeFrontEndTransport" in listed
    assert "ReplacementStrings : {mx.treyresearch.net, From Adatum, mx.treyresearch.net}" in listed


def test_listed_sender_without_client_certificate_gives_11017_on_the_receiving_cas(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    # Adatum's connector announces a name no certificate carries: TLS without a client
    # certificate (12014 on the sender), refused at MAIL FROM by TreyResearch (11017).
    sh(lab, "Adatum", 'Set-SendConnector "To TreyResearch" -Fqdn smtp.adatum.com')
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Agenda")

    (received,) = events(lab, "TREY-CAS1", 11017)
    assert received.source == "MSExchangeFrontEndTransport"
    assert received.replacement_strings == ("adatum.com", "From Adatum")
    assert "domain-secured domain 'adatum.com' on connector 'From Adatum'" in received.message
    (sender,) = events(lab, "ADATUM-MBX1", 12014)
    assert sender.replacement_strings == ("smtp.adatum.com", "To TreyResearch", "smtp.adatum.com")


def test_event_expectation_in_a_scenario_passes_and_fails(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    sh(lab, "Adatum", 'Set-SendConnector "To TreyResearch" -Fqdn smtp.adatum.com')
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Agenda")
    lines = lab.event_log("TreyResearch", "TREY-CAS1")
    assert any("Error 11017 MessageNotAuthenticatedNoClientCertificate" in line for line in lines)
    assert any(" 12014 " in line for line in lab.event_log("Adatum"))
    assert not any(" 12014 " in line for line in lab.event_log("TreyResearch"))


def test_interactive_log_command_shows_a_servers_event_log(start_lab: Callable[..., Lab]) -> None:
    lab = trusted_partners(start_lab)
    sh(lab, "Adatum", 'Set-SendConnector "To TreyResearch" -Fqdn smtp.adatum.com')
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Agenda")
    echoed: list[str] = []
    shell = InteractiveShell(lab, echoed.append, "Adatum")
    shell.execute(":log TREY-CAS1 event 5")
    (line,) = echoed
    assert "mail.treyresearch.net MSExchangeFrontEndTransport Error 11017" in line
    echoed.clear()
    shell.execute(":log TREY-CAS1 events")
    assert echoed == ["'events' is not a log; use receive, send, tracking or event"]
