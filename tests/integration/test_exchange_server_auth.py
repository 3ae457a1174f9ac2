"""Exchange Server authentication (X-EXPS) between the servers of one organization (issue 10
item 1, docs/exchange-reference.md §17 C5).

Servers used to trust each other by source address: any local process that bound a lab
server's address could submit through the CAS's Outbound Proxy Frontend (port 717) and have the
partner receive the message domain-secured, or post forged X-MS-Exchange-Organization-* stamps
to a Mailbox server's port 2525. Now a session is an Exchange server's only after X-EXPS with a
proof only the organization's servers can make.
"""

from __future__ import annotations

from pathlib import Path

from integration_helpers import configure_walkthrough, protocol_records, run_python_peer, sh

from labsim.lab import Lab

# A client that binds a lab server's address and speaks SMTP (STARTTLS without a certificate):
# what a local process can do without any of the lab's secrets.
FORGER = r"""
import json, smtplib, ssl, sys
p = json.loads(sys.argv[1])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
report = {}
with smtplib.SMTP(p["host"], p["port"], local_hostname=p["helo"],
                  source_address=(p["source"], 0), timeout=30) as smtp:
    smtp.ehlo()
    report["ehlo"] = smtp.ehlo_resp.decode()
    smtp.starttls(context=context)
    smtp.ehlo()
    report["mail"] = list(smtp.mail(p["sender"]))
    report["rcpt"] = list(smtp.rcpt(p["rcpt"]))
    if report["rcpt"][0] == 250:
        code, text = smtp.data(p["message"].encode())
        report["data"] = [code, text.decode()]
    report["mail"][1] = report["mail"][1].decode()
    report["rcpt"][1] = report["rcpt"][1].decode()
print(json.dumps(report))
"""


def _forge(lab: Lab, tmp_path: Path, **params: object) -> dict[str, object]:
    lab.live = True  # the forger is a client from outside the lab
    report: dict[str, object] = run_python_peer(lab, FORGER, dict(params), tmp_path, "forger")
    lab.live = False
    return report


def test_a_process_on_a_mailbox_servers_address_cannot_send_through_the_outbound_proxy(
    lab: Lab, tmp_path: Path
) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    report = _forge(
        lab,
        tmp_path,
        host="127.0.10.1",
        port=lab.world.network.real_port(717),
        source="127.0.10.2",  # ADATUM-MBX1's address
        helo="adatum-mbx1.adatum.com",
        sender="april@adatum.com",
        rcpt="ben@treyresearch.net",
        message="From: april@adatum.com\r\nTo: ben@treyresearch.net\r\nSubject: Forged\r\n\r\nx\r\n",
    )
    # Anonymous on Outbound Proxy Frontend: no relay to the partner, nothing domain-secured.
    assert report.get("data") is None, report
    assert not any(m.subject == "Forged" for m in lab.inbox("ben@treyresearch.net"))
    # The real path still works: the Mailbox server authenticates to the CAS with X-EXPS.
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Genuine")
    (message,) = [m for m in lab.inbox("ben@treyresearch.net") if m.subject == "Genuine"]
    assert message.domain_secured


def test_forged_organization_stamps_from_a_cas_address_are_not_accepted(
    lab: Lab, tmp_path: Path
) -> None:
    forged = (
        "From: ben@treyresearch.net\r\nTo: terry@treyresearch.net\r\nSubject: Stamped\r\n"
        "X-MS-Exchange-Organization-AuthAs: Partner\r\n"
        "X-MS-Exchange-Organization-AuthMechanism: 02\r\n"
        "X-MS-Exchange-Organization-AuthDomain: adatum.com\r\n\r\nx\r\n"
    )
    report = _forge(
        lab,
        tmp_path,
        host="127.0.20.2",
        port=lab.world.network.real_port(2525),
        source="127.0.20.1",  # TREY-CAS1's address
        helo="mail.treyresearch.net",
        sender="ben@treyresearch.net",
        rcpt="terry@treyresearch.net",
        message=forged,
    )
    lab.run_until_idle()
    stamped = [m for m in lab.inbox("terry@treyresearch.net") if m.subject == "Stamped"]
    # Default TREY-MBX1 grants nothing to anonymous sessions: MAIL FROM is refused; and were
    # the message taken, the firewall would strip the organization headers.
    assert report["mail"] == [530, "5.7.1 Client was not authenticated"], report
    assert stamped == []


def test_internal_hops_authenticate_with_x_exps_and_the_logs_show_it(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    sh(
        lab,
        "Adatum",
        'Set-ReceiveConnector "ADATUM-MBX1\\Default ADATUM-MBX1" -ProtocolLoggingLevel Verbose',
    )
    lab.send(mail_from="ben@treyresearch.net", to=["ed@adatum.com"], subject="Inbound")
    (message,) = lab.inbox("ed@adatum.com")
    assert message.domain_secured and message.auth_as == "Partner"
    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "receive"))
    events = [(r["event"], r["data"], r["context"]) for r in records]
    exps = events.index(("<", "X-EXPS GSSAPI", ""))
    assert events[exps + 1] == (">", "334 <authentication response>", "")
    assert events[exps + 2][0] == "*" and events[exps + 2][2] == "Set Session Permissions"
    assert "AcceptRoutingHeaders" in events[exps + 2][1]
    assert events[exps + 3] == ("*", "ADATUM\\ADATUM-CAS1$", "authenticated")
    assert events[exps + 4] == (">", "235 2.7.0 Authentication successful", "")
    # The response itself (a credential) is never logged: every line received is a command.
    # The CAS's proxy hop carries the message as Exchange does, in one BDAT LAST chunk.
    verbs = {"EHLO", "STARTTLS", "X-EXPS", "MAIL", "RCPT", "BDAT", "QUIT"}
    received = [d for e, d, _ in events if e == "<"]
    assert all(d.split(" ")[0].upper() in verbs or d.startswith("<") for d in received), received
    assert any(d.startswith("BDAT ") and d.endswith(" LAST") for d in received), received


def test_a_mailbox_connector_without_exchange_server_auth_gives_451_5_7_3(lab: Lab) -> None:
    """KB 979175: the CAS cannot achieve Exchange Server authentication with the Mailbox
    server, so the partner's mail waits in the partner's queue with that reason."""
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    sh(
        lab,
        "Adatum",
        'Set-ReceiveConnector "ADATUM-MBX1\\Default ADATUM-MBX1" -AuthMechanism Tls',
    )
    lab.send(mail_from="ben@treyresearch.net", to=["ed@adatum.com"], subject="Blocked")
    assert lab.inbox("ed@adatum.com") == ()
    (queue,) = [q for q in lab.queues("TreyResearch") if q.next_hop_domain == "adatum.com"]
    assert "451 5.7.3 Cannot achieve Exchange Server authentication" in queue.last_error
