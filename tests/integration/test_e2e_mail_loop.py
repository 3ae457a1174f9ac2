"""A mail loop: an InternalRelay accepted domain whose send connector points back at the
organization's own Client Access server (issue 10 item 6).

Before the hop count was checked the message went round ADATUM-MBX1 → ADATUM-CAS1 → ADATUM-MBX1
forever (1,300 Received headers in 8 s) and the lab never became idle. Now a receive connector
refuses it at the end of DATA once its MaxLocalHopCount (5, Exchange's default) is exceeded,
with ``554 5.4.6 Hop count exceeded - possible mail loop``; the refusal travels back through
the Front End proxy to the Mailbox server that sent the message, which fails the recipient
(tracking FAIL with the reply) and sends exactly one NDR to the sender. Then the lab is idle.
"""

from __future__ import annotations

from integration_helpers import protocol_records, sh, tracking_records, verbose_default_frontend

from labsim.lab import Lab

LOOP = "554 5.4.6 Hop count exceeded - possible mail loop"


def make_loop(lab: Lab) -> None:
    sh(
        lab,
        "Adatum",
        "New-AcceptedDomain -Name Relay -DomainName relay.adatum.com -DomainType InternalRelay\n"
        "New-SendConnector -Name Loop -Usage Internet -AddressSpaces relay.adatum.com "
        "-DNSRoutingEnabled $false -SmartHosts mail.adatum.com",
    )


def test_a_relay_domain_routed_back_to_itself_ends_in_one_ndr(lab: Lab) -> None:
    make_loop(lab)
    verbose_default_frontend(lab, "Adatum", "ADATUM-CAS1")

    lab.send(mail_from="april@adatum.com", to=["someone@relay.adatum.com"], subject="Round")

    assert lab.run_until_idle()
    (ndr,) = lab.inbox("april@adatum.com")
    assert ndr.subject == "Undeliverable: Round"
    text = ndr.content.decode()
    assert f"Remote Server returned '{LOOP}'" in text
    assert "Status: 5.4.6" in text
    assert all(q.message_count == 0 for q in lab.queues("Adatum"))

    tracking = tracking_records(lab.tracking_log("Adatum"))
    fails = [r for r in tracking if r["event-id"] == "FAIL"]
    assert [(r["recipient-address"], r["recipient-status"]) for r in fails] == [
        ("someone@relay.adatum.com", LOOP)
    ]
    assert [r["event-id"] for r in tracking].count("DSN") == 1
    # Each round leaves one Received header of ADATUM-MBX1 (its Internet-usage Loop connector
    # reaches ADATUM-CAS1's Default Frontend as an anonymous client, which proxies the message
    # inbound to the Mailbox server) and one of ADATUM-CAS1. ADATUM-MBX1 refused the sixth
    # round, carrying six of its own (MaxLocalHopCount 5): five SMTP RECEIVEs plus the store
    # submission's, and the CAS relayed the refusal back to the sending Mailbox server.
    assert [r["event-id"] for r in tracking].count("RECEIVE") == 6
    assert any(
        "passed this server 6 times" in note and note.startswith("ADATUM-MBX1")
        for note in lab.explain()
    )

    sent = [
        r["data"]
        for r in protocol_records(lab.protocol_log("Adatum", "ADATUM-CAS1", "receive"))
        if r["event"] == ">"
    ]
    assert LOOP in sent


def test_max_hop_count_stops_the_loop_when_the_local_check_is_off(lab: Lab) -> None:
    make_loop(lab)
    for connector in (
        "ADATUM-CAS1\\Default Frontend ADATUM-CAS1",
        "ADATUM-MBX1\\Default ADATUM-MBX1",
    ):
        sh(
            lab,
            "Adatum",
            f'Set-ReceiveConnector "{connector}" -MaxLocalHopCount 0 -MaxHopCount 20',
        )

    lab.send(mail_from="april@adatum.com", to=["someone@relay.adatum.com"], subject="Round")

    (ndr,) = lab.inbox("april@adatum.com")
    assert f"Remote Server returned '{LOOP}'" in ndr.content.decode()
    received = [
        r for r in tracking_records(lab.tracking_log("Adatum")) if r["event-id"] == "RECEIVE"
    ]
    # Each round adds two Received headers (ADATUM-MBX1's and ADATUM-CAS1's) to the
    # submission's one: ADATUM-MBX1 refused the message carrying 21 (MaxHopCount 20), after ten
    # SMTP rounds (plus the store submission's RECEIVE).
    assert len(received) == 11
    assert any("carries 21 Received headers" in note for note in lab.explain())
