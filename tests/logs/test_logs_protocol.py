"""Protocol log golden lines: what a receive or send session writes, byte for byte (docs/exchange-reference.md §7).

The expected lines are written out in full on purpose: the log format is the product, and a
test that rebuilt them with the code under test would agree with any mistake it makes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from labsim.logs import (
    NULL_SESSION,
    CertificateLabel,
    ProtocolLogEvent,
    ProtocolLogRecord,
    ProtocolLogSession,
    SessionIdAllocator,
    format_endpoint,
)

T0 = datetime(2026, 11, 30, 6, 48, 13, 123456, tzinfo=UTC)
BANNER = "220 mail.treyresearch.net Microsoft ESMTP MAIL Service ready at Mon, 30 Nov 2026 06:48:13 +0000"
PARTNER_THUMB = "3B0C1AE8E1D1E0B1F0A7C2F3B4D5E6F708192A3B"
OWN_THUMB = "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344"


def ms(n: int) -> datetime:
    """T0 plus ``n`` milliseconds: each line of a transcript a little later than the last."""
    return T0 + timedelta(milliseconds=n)


def receive_session(sink: list[ProtocolLogRecord]) -> ProtocolLogSession:
    return ProtocolLogSession.for_receive_connector(
        sink.append,
        server="TREY-CAS1",
        connector="Default Frontend TREY-CAS1",
        session_id="08DF4EADDFBE5000",
        local_endpoint=format_endpoint("127.0.20.1", 25),
        remote_endpoint=format_endpoint("127.0.10.1", 49152),
    )


def test_receive_session_golden_lines() -> None:
    records: list[ProtocolLogRecord] = []
    log = receive_session(records)
    log.connect(ms(0))
    log.permissions(
        ms(0),
        "SMTPSubmit SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders",
    )
    log.sent(ms(0), BANNER)
    log.received(ms(5), "EHLO mail.adatum.com")
    log.sent(ms(5), "250-mail.treyresearch.net Hello [127.0.10.1]")
    log.sent(ms(5), "250-STARTTLS")
    log.sent(ms(5), "250 CHUNKING")
    log.received(ms(9), "STARTTLS")
    log.sent(ms(9), "220 2.0.0 SMTP server ready")
    log.certificate(
        ms(30),
        CertificateLabel.SENDING,
        subject="CN=mail.treyresearch.net",
        issuer='CN=TreyResearch Root CA, O=TreyResearch, OU="Lab, PKI"',
        serial="4F1A9C0000000000000B",
        thumbprint=OWN_THUMB,
        alternate_names=["mail.treyresearch.net", "treyresearch.net"],
    )
    log.certificate(ms(31), "Received certificate", thumbprint=PARTNER_THUMB)
    log.received(ms(40), "EHLO mail.adatum.com")
    log.received(ms(50), "MAIL FROM:<april@adatum.com> SIZE=1024")
    log.permissions(ms(50), "SMTPSubmit AcceptRoutingHeaders")
    log.sent(ms(50), "250 2.1.0 Sender OK")
    log.disconnect(ms(999))

    p = r"TREY-CAS1\Default Frontend TREY-CAS1,08DF4EADDFBE5000"
    e = "127.0.20.1:25,127.0.10.1:49152"
    assert [r.to_csv() for r in records] == [
        f"2026-11-30T06:48:13.123Z,{p},0,{e},+,,",
        f"2026-11-30T06:48:13.123Z,{p},1,{e},*,SMTPSubmit SMTPAcceptAnySender "
        "SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders,Set Session Permissions",
        f"2026-11-30T06:48:13.123Z,{p},2,{e},>,"
        '"220 mail.treyresearch.net Microsoft ESMTP MAIL Service ready at '
        'Mon, 30 Nov 2026 06:48:13 +0000",',
        f"2026-11-30T06:48:13.128Z,{p},3,{e},<,EHLO mail.adatum.com,",
        f"2026-11-30T06:48:13.128Z,{p},4,{e},>,250-mail.treyresearch.net Hello [127.0.10.1],",
        f"2026-11-30T06:48:13.128Z,{p},5,{e},>,250-STARTTLS,",
        f"2026-11-30T06:48:13.128Z,{p},6,{e},>,250 CHUNKING,",
        f"2026-11-30T06:48:13.132Z,{p},7,{e},<,STARTTLS,",
        f"2026-11-30T06:48:13.132Z,{p},8,{e},>,220 2.0.0 SMTP server ready,",
        f"2026-11-30T06:48:13.153Z,{p},9,{e},*,,Sending certificate",
        f"2026-11-30T06:48:13.153Z,{p},10,{e},*,CN=mail.treyresearch.net,Certificate subject",
        f"2026-11-30T06:48:13.153Z,{p},11,{e},*,"
        '"CN=TreyResearch Root CA, O=TreyResearch, OU=""Lab, PKI""",Certificate issuer name',
        f"2026-11-30T06:48:13.153Z,{p},12,{e},*,4F1A9C0000000000000B,Certificate serial number",
        f"2026-11-30T06:48:13.153Z,{p},13,{e},*,{OWN_THUMB},Certificate thumbprint",
        f"2026-11-30T06:48:13.153Z,{p},14,{e},*,mail.treyresearch.net;treyresearch.net,"
        "Certificate alternate names",
        f"2026-11-30T06:48:13.154Z,{p},15,{e},*,,Received certificate",
        f"2026-11-30T06:48:13.154Z,{p},16,{e},*,{PARTNER_THUMB},Certificate thumbprint",
        f"2026-11-30T06:48:13.163Z,{p},17,{e},<,EHLO mail.adatum.com,",
        f"2026-11-30T06:48:13.173Z,{p},18,{e},<,MAIL FROM:<april@adatum.com> SIZE=1024,",
        f"2026-11-30T06:48:13.173Z,{p},19,{e},*,SMTPSubmit AcceptRoutingHeaders,"
        "Set Session Permissions",
        f"2026-11-30T06:48:13.173Z,{p},20,{e},>,250 2.1.0 Sender OK,",
        f"2026-11-30T06:48:14.122Z,{p},21,{e},-,,Remote",
    ]
    assert records[0].event is ProtocolLogEvent.CONNECT
    assert log.disconnected


def test_send_session_uses_bare_connector_name_and_secure_domain_block() -> None:
    records: list[ProtocolLogRecord] = []
    log = ProtocolLogSession.for_send_connector(
        records.append,
        connector="To TreyResearch",
        session_id="08DF4EADDFBE5001",
        local_endpoint="127.0.10.1:49152",
        remote_endpoint="127.0.20.1:25",
    )
    log.connect(T0)
    log.received(T0, BANNER)
    log.sent(T0, "EHLO mail.adatum.com")
    log.certificate(
        T0,
        CertificateLabel.SECURE_DOMAIN,
        subject="CN=mail.treyresearch.net",
        issuer="CN=TreyResearch Root CA",
        serial="01",
        thumbprint=PARTNER_THUMB,
        alternate_names=("mail.treyresearch.net",),
    )
    log.info(T0, "TLS negotiation failed with error UnknownCredentials")
    log.disconnect(T0, "Local")

    lines = [r.to_csv() for r in records]
    head = "2026-11-30T06:48:13.123Z,To TreyResearch,08DF4EADDFBE5001"
    e = "127.0.10.1:49152,127.0.20.1:25"
    assert lines[0] == f"{head},0,{e},+,,"
    assert lines[1].startswith(f'{head},1,{e},<,"220 mail.treyresearch.net')
    assert lines[2] == f"{head},2,{e},>,EHLO mail.adatum.com,"
    assert lines[3] == f"{head},3,{e},*,,Secure domain certificate"
    assert lines[4:9] == [
        f"{head},4,{e},*,CN=mail.treyresearch.net,Certificate subject",
        f"{head},5,{e},*,CN=TreyResearch Root CA,Certificate issuer name",
        f"{head},6,{e},*,01,Certificate serial number",
        f"{head},7,{e},*,{PARTNER_THUMB},Certificate thumbprint",
        f"{head},8,{e},*,mail.treyresearch.net,Certificate alternate names",
    ]
    assert lines[9] == f"{head},9,{e},*,TLS negotiation failed with error UnknownCredentials,"
    assert lines[10] == f"{head},10,{e},-,,Local"


def test_quotes_in_data_are_doubled_and_the_field_quoted() -> None:
    record = ProtocolLogRecord(
        date_time=T0,
        connector_id="To TreyResearch",
        session_id="0000000000000001",
        sequence_number=3,
        local_endpoint="127.0.10.1:49152",
        remote_endpoint="127.0.20.1:25",
        event=ProtocolLogEvent.INFORMATION,
        data="Message to secure domain 'treyresearch.net' on send connector \"To, Trey\"",
        context="",
    )
    assert record.to_csv() == (
        "2026-11-30T06:48:13.123Z,To TreyResearch,0000000000000001,3,"
        "127.0.10.1:49152,127.0.20.1:25,*,"
        '"Message to secure domain \'treyresearch.net\' on send connector ""To, Trey""",'
    )


def test_time_is_shown_in_utc_with_truncated_milliseconds() -> None:
    local = datetime(2026, 11, 30, 7, 48, 13, 999999, tzinfo=timezone(timedelta(hours=1)))
    records: list[ProtocolLogRecord] = []
    receive_session(records).connect(local)
    assert records[0].to_csv().startswith("2026-11-30T06:48:13.999Z,")


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        receive_session([]).connect(datetime(2026, 11, 30, 6, 48, 13))
    with pytest.raises(ValueError, match="timezone-aware"):
        NULL_SESSION.connect(datetime(2026, 11, 30, 6, 48, 13))


def test_lines_after_disconnect_are_a_caller_bug() -> None:
    log = receive_session([])
    log.connect(T0)
    log.disconnect(T0)
    with pytest.raises(RuntimeError, match="already logged its disconnect"):
        log.sent(T0, "250 OK")


def test_disconnect_context_is_remote_or_local() -> None:
    with pytest.raises(ValueError, match="'Remote' or 'Local'"):
        receive_session([]).disconnect(T0, "Peer")  # type: ignore[arg-type]


def test_null_session_drops_everything_and_stays_usable() -> None:
    for _ in range(2):
        NULL_SESSION.connect(T0)
        NULL_SESSION.sent(T0, BANNER)
        NULL_SESSION.certificate(T0, CertificateLabel.RECEIVED, thumbprint=PARTNER_THUMB)
        NULL_SESSION.disconnect(T0)
    assert not NULL_SESSION.disconnected
    assert NULL_SESSION.next_sequence_number == 0


def test_session_id_allocator_counts_from_the_service_start_ticks() -> None:
    # A real 2013 id, 08D760DF231F00BC, decodes to 2019-11-04 04:26:17.942 UTC in .NET ticks.
    allocator = SessionIdAllocator.started_at(datetime(2019, 11, 4, 4, 26, 17, 942239, tzinfo=UTC))
    first = allocator.allocate()
    assert first[:12] == "08D760DF231F"
    assert allocator.allocate() == f"{int(first, 16) + 1:016X}"


def test_session_ids_are_sixteen_upper_case_hex_digits() -> None:
    allocator = SessionIdAllocator(0xAB)
    assert allocator.allocate() == "00000000000000AB"
    assert allocator.allocate() == "00000000000000AC"
    sink: list[ProtocolLogRecord] = []
    for bad in ("08d760df231f00bc", "08D760DF231F00B", "08D760DF231F00BCX", "not-hex-at-all!!"):
        with pytest.raises(ValueError, match="16 upper-case hex digits"):
            ProtocolLogSession(
                sink.append,
                connector_id="x",
                session_id=bad,
                local_endpoint="",
                remote_endpoint="",
            )


def test_endpoints() -> None:
    assert format_endpoint("127.0.20.1", 25) == "127.0.20.1:25"
    assert format_endpoint("::1", 2525) == "[::1]:2525"
    with pytest.raises(ValueError):
        format_endpoint("mail.adatum.com", 25)
    with pytest.raises(ValueError):
        format_endpoint("127.0.0.1", 70000)


def test_unknown_certificate_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown certificate label 'Client certificate'"):
        receive_session([]).certificate(T0, "Client certificate", thumbprint=PARTNER_THUMB)
