"""The Application event log core: the catalog's texts, InstanceId, sources and the suppression
of repeats (labsim.logs.event_log; docs/fidelity.md, "The Application event log")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labsim.logs import event_log
from labsim.logs.event_log import (
    CATALOG,
    SUPPRESSION_PERIOD,
    ApplicationLog,
    EntryType,
    EventLogs,
    source_for,
)
from labsim.policy import events
from labsim.policy.events import TransportEvent

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def test_every_transport_event_of_the_policy_layer_has_a_catalog_entry() -> None:
    declared = [v for v in vars(events).values() if isinstance(v, TransportEvent)]
    assert len(declared) >= 16
    for event in declared:
        assert event.event_id in CATALOG, event
        assert events.event_by_id(event.event_id) is event


def test_12014_text_is_exchanges_with_the_connector_and_fqdn() -> None:
    entry = CATALOG[12014]
    assert entry.entry_type is EntryType.ERROR
    assert entry.category == "TransportService"
    assert entry.message(
        ("mail.expta.com", "Default internal receive connector", "mail.expta.com")
    ) == (
        "Microsoft Exchange could not find a certificate that contains the domain name "
        "mail.expta.com in the personal store on the local computer. Therefore, it is unable to "
        "support the STARTTLS SMTP verb for the connector Default internal receive connector "
        "with a FQDN parameter of mail.expta.com. If the connector's FQDN is not specified, the "
        "computer's FQDN is used. Verify the connector configuration and the installed "
        "certificates to make sure that there is a certificate with a domain name for that "
        "FQDN. If this certificate exists, run Enable-ExchangeCertificate -Services SMTP to make "
        "sure that the Microsoft Exchange Transport service has access to the certificate key."
    )


@pytest.mark.parametrize(
    ("event_id", "strings", "text"),
    [
        (
            11012,
            ("adatum.com", "From Adatum"),
            "A message from domain-secured domain 'adatum.com' on connector 'From Adatum' could "
            "not be authenticated because the server did not use Transport Layer Security (TLS). "
            "Contact the administrator for adatum.com to resolve the problem, or remove the "
            "domain from the domain-secured list.",
        ),
        (
            11015,
            ("adatum.com", "From Adatum"),
            "A message from domain-secured domain 'adatum.com' on connector 'From Adatum' failed "
            "to authenticate because the Transport Layer Security (TLS) certificate does not "
            "contain the domain name. Contact the administrator of adatum.com to resolve the "
            "problem, or remove the domain from the domain-secured list.",
        ),
        (
            12016,
            ("mail.adatum.com",),
            "There is no valid SMTP Transport Layer Security (TLS) certificate for the FQDN of "
            "mail.adatum.com. The existing certificate for that FQDN has expired. The continued "
            "use of that FQDN will cause mail flow problems. A new certificate that contains the "
            "FQDN of mail.adatum.com should be installed on this server as soon as possible. You "
            "can create a new certificate by using the New-ExchangeCertificate task.",
        ),
        (
            2015,
            ("To TreyResearch", "treyresearch.net", "mail.treyresearch.net"),
            "Send connector To TreyResearch couldn't connect to remote domain treyresearch.net. "
            "The send connector requires Transport Layer Security (TLS) authentication, but is "
            "unable to establish TLS with the receiving server for the remote domain. Check this "
            "connector's authentication setting and the EHLO response from the remote server "
            "mail.treyresearch.net.",
        ),
    ],
)
def test_verified_texts(event_id: int, strings: tuple[str, ...], text: str) -> None:
    assert CATALOG[event_id].fidelity == "C"
    assert CATALOG[event_id].message(strings) == text


def test_every_placeholder_is_filled() -> None:
    for entry in CATALOG.values():
        count = max(int(n) for n in "123" if f"%{n}" in entry.template)
        text = entry.message(tuple(f"<{i}>" for i in range(1, count + 1)))
        assert "%" not in text.replace("100%", ""), entry.event_id


def test_instance_id_carries_the_severity_bits() -> None:
    log = ApplicationLog("mail.adatum.com")
    error = log.write(
        events.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE, ("a", "b", "a"), source="S", at=T0
    )
    warning = log.write(
        events.STARTTLS_CERTIFICATE_EXPIRES_SOON, ("CN=x", "AB", "5"), source="S", at=T0
    )
    assert error is not None and warning is not None
    assert error.instance_id == 3221237486 == 0xC0000000 | 12014
    assert warning.entry_type is EntryType.WARNING
    assert warning.instance_id == 0x80000000 | 12018
    assert (error.index, warning.index) == (1, 2)
    assert error.time_written == error.time_generated == T0
    assert error.machine_name == "mail.adatum.com"


def test_sources_by_role() -> None:
    assert source_for(is_client_access=True) == "MSExchangeFrontEndTransport"
    assert source_for(is_client_access=False) == "MSExchangeTransport"


def test_a_repeat_within_the_period_is_suppressed_then_written_again() -> None:
    log = ApplicationLog("adatum-mbx1.adatum.com")
    mismatch = events.TLS_DOMAIN_SERVER_CERTIFICATE_SUBJECT_MISMATCH
    strings = ("treyresearch.net", "To TreyResearch")
    assert log.write(mismatch, strings, source="MSExchangeTransport", at=T0) is not None
    almost = T0 + SUPPRESSION_PERIOD - timedelta(seconds=1)
    assert log.write(mismatch, strings, source="MSExchangeTransport", at=almost) is None
    # Another domain is another condition: written at once.
    other = log.write(
        mismatch, ("contoso.com", "To Contoso"), source="MSExchangeTransport", at=almost
    )
    assert other is not None
    again = log.write(mismatch, strings, source="MSExchangeTransport", at=T0 + SUPPRESSION_PERIOD)
    assert again is not None and again.index == 3
    assert [e.index for e in log.entries()] == [1, 2, 3]


def test_the_log_keeps_its_newest_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_log, "ENTRIES_KEPT", 3)
    log = ApplicationLog("x")
    for minute in range(5):
        log.write(events.TLS_DOMAIN_SECURE_DISABLED, (str(minute), "c"), source="S", at=T0)
    assert [e.index for e in log.entries()] == [3, 4, 5]


def test_logs_are_per_server_case_insensitively() -> None:
    logs = EventLogs()
    logs.log("ADATUM-MBX1", "adatum-mbx1.adatum.com").write(
        events.TLS_DOMAIN_SECURE_DISABLED, ("d", "c"), source="S", at=T0
    )
    assert len(logs.entries("adatum-mbx1")) == 1
    assert logs.entries("ADATUM-CAS1") == ()
