"""What each view shows (labsim.web.views) and how it is written (labsim.web.pages), over
plain records: no lab, no browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from labsim.logs.protocol_log import ProtocolLogEvent, ProtocolLogRecord
from labsim.model.mail import DeliveredMessage
from labsim.terminal import output_line_kind
from labsim.web import pages, views

AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def delivered(subject: str, *stamps: str, sender: str = "april@adatum.com") -> DeliveredMessage:
    head = f"From: {sender}\r\nTo: ben@treyresearch.net\r\nSubject: {subject}\r\n" + "".join(
        f"{s}\r\n" for s in stamps
    )
    return DeliveredMessage(
        mailbox="ben@treyresearch.net",
        mail_from=sender,
        subject=subject,
        content=(head + "\r\nbody line\r\n").encode(),
        delivered_at=AT,
        message_id="<m@adatum.com>",
    )


SECURED = (
    "X-MS-Exchange-Organization-AuthAs: Partner",
    "X-MS-Exchange-Organization-AuthDomain: adatum.com",
)


def test_the_mailbox_lists_newest_first_with_the_check_only_for_partner_mail() -> None:
    rows = views.mailbox_rows(
        [
            delivered("first", *SECURED),
            delivered("second", "X-MS-Exchange-Organization-AuthAs: Anonymous"),
        ]
    )
    assert [(r.number, r.subject, r.domain_secured) for r in rows] == [
        (2, "second", False),
        (1, "first", True),
    ]


def test_only_the_auth_stamps_are_marked_and_folded_headers_are_joined() -> None:
    message = delivered(
        "s", *SECURED, "X-MS-Exchange-Organization-AuthSource: mail.adatum.com", "X-Folded: a\r\n b"
    )
    lines = views.header_lines(message.content)
    assert [line.name for line in lines if line.stamp] == [
        "X-MS-Exchange-Organization-AuthAs",
        "X-MS-Exchange-Organization-AuthDomain",
        "X-MS-Exchange-Organization-AuthSource",
    ]
    assert views.HeaderLine("X-Folded", "a b", False) in lines


def record(session: str, data: str, number: int = 0) -> ProtocolLogRecord:
    return ProtocolLogRecord(
        AT,
        "TREY-CAS1\\From Adatum",
        session,
        number,
        "127.0.20.1:25",
        "127.0.10.1:5000",
        ProtocolLogEvent.SEND,
        data,
        "",
    )


def test_a_message_id_filter_keeps_the_whole_sessions_that_carried_it() -> None:
    one, two = "08D8000000000001", "08D8000000000002"
    records = [
        record(one, "220 ready"),
        record(one, "250 2.6.0 <m@adatum.com> Queued mail for delivery", 1),
        record(two, "220 ready"),
        record(two, "250 2.6.0 <other@adatum.com> Queued mail for delivery", 1),
    ]
    kept = views.filter_protocol_log(records, views.LogFilter(message_id="<m@adatum.com>"))
    assert [(r.session_id, r.sequence_number) for r in kept] == [(one, 0), (one, 1)]
    by_session = views.filter_protocol_log(records, views.LogFilter(session=two.lower()))
    assert {r.session_id for r in by_session} == {two}
    by_text = views.filter_protocol_log(records, views.LogFilter(text="OTHER@"))
    assert [r.sequence_number for r in by_text] == [1]


def test_a_stale_log_link_falls_back_to_a_view_that_exists() -> None:
    wanted = views.log_filter({"server": "gone", "kind": "weird"}, ["ADATUM-CAS1", "TREY-CAS1"])
    assert (wanted.server, wanted.kind) == ("ADATUM-CAS1", "receive")
    assert views.log_filter({"server": "trey-cas1"}, ["TREY-CAS1"]).server == "TREY-CAS1"


def test_queue_buttons_build_only_checked_lines() -> None:
    assert (
        views.queue_action_line("retry", "ADATUM-MBX1\\treyresearch.net")
        == 'Retry-Queue -Identity "ADATUM-MBX1\\treyresearch.net"'
    )
    assert views.queue_action_line("resume", "ADATUM-MBX1\\3") == (
        'Resume-Queue -Identity "ADATUM-MBX1\\3"'
    )
    for identity in ('X\\a"; Stop-LabServer ADATUM-CAS1; "', "X\\$(evil)", "noqueue", "X\\a b"):
        assert views.queue_action_line("retry", identity) is None, identity
    assert views.queue_action_line("suspend", "ADATUM-MBX1\\3") is None


def test_pages_escape_everything_that_came_from_mail() -> None:
    message = delivered(HOSTILE, *SECURED, sender="april@adatum.com")
    rows = views.mailbox_rows([message])
    text = pages.mailbox(
        "ben@treyresearch.net",
        "Ben",
        rows,
        rows[0],
        views.header_lines(message.content),
        views.message_body(message.content),
    )
    assert "<script>" not in text and "<img" not in text
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in text
    )
    log = pages.logs(
        views.LogFilter(server="TREY-CAS1"), ["TREY-CAS1"], [record("08D8000000000001", HOSTILE)]
    )
    assert "<script>" not in log and "&lt;img" in log


def test_every_page_loads_only_the_console_script_and_no_inline_script() -> None:
    frame = pages.Frame("default", AT, "token")
    text = pages.page(frame, "/", "Home", "<p>x</p>")
    assert text.count("<script") == 1
    assert '<script src="/static/console.js" defer></script>' in text
    assert not re.search(r"\son[a-z]+\s*=", text)  # no event-handler attributes


def test_shell_output_lines_get_ems_colours() -> None:
    kinds = [
        output_line_kind(line)
        for line in (
            "Get-SendConnector: The operation couldn't be performed because object 'x'…",
            "WARNING: The command completed successfully but no settings have been modified.",
            "labsim note: Domain Security isn't supported when outbound mail is proxied…",
            "Identity  AddressSpaces       Enabled",
            "TLSSendDomainSecureList    : {treyresearch.net}",
        )
    ]
    assert kinds == ["error", "warning", "warning", "text", "text"]
    transcript = pages.shell(
        "id",
        ["Adatum"],
        "Adatum",
        None,
        [pages.TranscriptEntry("[PS] Adatum>", "x", "Get-X: <bad>\nfine")],
        "t",
    )
    assert '<span class="error">Get-X: &lt;bad&gt;</span>\nfine' in transcript


def test_the_application_event_log_is_a_log_kind_filtered_by_text_and_escaped() -> None:
    from labsim.logs.event_log import ApplicationLog
    from labsim.policy import events

    log = ApplicationLog("mail.treyresearch.net")
    strings = ("mail.treyresearch.net", HOSTILE, "mail.treyresearch.net")
    log.write(
        events.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
        strings,
        source="MSExchangeFrontEndTransport",
        at=AT,
    )
    entries = log.entries()
    wanted = views.log_filter({"server": "TREY-CAS1", "kind": "event"}, ["TREY-CAS1"])
    assert wanted.kind == "event"
    assert views.filter_event_log(entries, wanted) == list(entries)
    assert views.filter_event_log(entries, views.LogFilter(text="12014")) == list(entries)
    assert views.filter_event_log(entries, views.LogFilter(text="11016")) == []
    page = pages.logs(wanted, ["TREY-CAS1"], events=entries)
    assert '<option value="event" selected>Application event log</option>' in page
    assert '<tr class="entry-error">' in page
    assert "3221237486" in page and "12014 CannotLoadSTARTTLSCertificateFromStore" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
