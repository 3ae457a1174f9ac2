"""The pure half of ``--state`` (labsim.store.records): what is configuration, and records that
come back equal from their saved form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.logs.tracking import Directionality, TrackingEventId, TrackingRecord, TrackingSource
from labsim.model.mail import DeliveredMessage
from labsim.pki.ca import create_root_ca
from labsim.pki.self_signed import exchange_default_certificate
from labsim.store import records

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("statement", "kept"),
    [
        ("Set-TransportConfig -TLSReceiveDomainSecureList treyresearch.net", True),
        ('New-SendConnector -Name "To Trey" -Internet -AddressSpaces treyresearch.net', True),
        ("Enable-ExchangeCertificate -Thumbprint AB12 -Services SMTP", True),
        ("Stop-LabServer TREY-CAS1", True),
        ("Get-ReceiveConnector | Set-ReceiveConnector -ProtocolLoggingLevel Verbose", True),
        ("Get-ReceiveConnector | Format-List", False),
        ("get-queue", False),
        ("Send-MailMessage -From a@adatum.com -To b@adatum.com -Subject x", False),
        ("Retry-Queue -Identity ADATUM-MBX1\\treyresearch.net", False),
        ("Suspend-Queue -Identity x", False),
        ("No-SuchCmdlet -X", False),
        ("Set-TransportConfig -X 'unterminated", False),
    ],
)
def test_only_statements_that_change_configuration_are_journaled(
    statement: str, kept: bool
) -> None:
    assert records.changes_configuration(statement) is kept


def test_a_failed_block_keeps_the_statements_before_its_error() -> None:
    commands = ["Stop-LabServer TREY-CAS1", "Get-Queue", "Set-TransportConfig -Bad 1"]
    assert records.statements_to_journal(commands, failed=True) == ["Stop-LabServer TREY-CAS1"]
    assert records.statements_to_journal(commands[:2], failed=False) == ["Stop-LabServer TREY-CAS1"]


def test_certificates_and_authorities_come_back_with_their_keys() -> None:
    certificate = exchange_default_certificate("ADATUM-CAS1", "mail.adatum.com", at=AT)
    again = records.decode_certificate(records.encode_certificate(certificate))
    assert again.thumbprint == certificate.thumbprint
    assert again.services == certificate.services
    assert again.friendly_name == certificate.friendly_name
    assert again.key_pem() == certificate.key_pem()
    ca = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    ca_again = records.decode_authority(records.encode_authority(ca))
    assert ca_again.certificate == ca.certificate
    issued = ca_again.issue("mail.adatum.com", at=AT, dns_names=("mail.adatum.com",))
    assert issued.certificate.issuer == ca.certificate.subject


def test_tracking_records_and_delivered_messages_come_back_equal() -> None:
    record = TrackingRecord(
        date_time=AT,
        source=TrackingSource.SMTP,
        event_id=TrackingEventId.SEND,
        internal_message_id=7,
        message_id="<a@b>",
        recipient_address=("ben@treyresearch.net", "terry@treyresearch.net"),
        recipient_status=("250 2.6.0 ok", "250 2.6.0 ok"),
        total_bytes=120,
        directionality=Directionality.ORIGINATING,
    )
    assert records.decode_tracking(records.encode_tracking(record)) == record
    message = DeliveredMessage("ben@treyresearch.net", "a@adatum.com", "hi", b"x\r\n", AT, "<a@b>")
    assert records.delivered_from_row(records.delivered_row(message)) == message
