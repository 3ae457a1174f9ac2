"""A lab kept in a state folder comes back after it stops (labsim.store, ``--state``): the
same certificates (thumbprints typed later still resolve), the configuration as typed, the
lab clock, mailboxes, tracking and queued messages, with Exchange's duplicate detection."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from labsim.lab import Lab
from labsim.model.lab import default_lab
from labsim.store.database import LabState

RELAY = (
    'New-AcceptedDomain -Name "Trey relay" -DomainName treyresearch.net -DomainType InternalRelay',
    'New-SendConnector -Name "To Trey" -Internet -AddressSpaces treyresearch.net '
    "-SourceTransportServers ADATUM-MBX1",
)


@contextmanager
def kept_lab(folder: Path) -> Iterator[Lab]:
    """A lab kept in ``folder`` (its certificates in folder/certs, as ``up --state`` does)."""
    definition = default_lab()
    state = LabState.open(folder, definition)
    try:
        lab = Lab.start(definition, cert_folder=folder / "certs", state=state)
    except BaseException:
        state.close()
        raise
    try:
        yield lab
    finally:
        lab.stop()


def ok(lab: Lab, organization: str, text: str) -> str:
    result = lab.run_shell(organization, text)
    assert result.error is None, result.error
    return str(result.output)


def thumbprints(lab: Lab, server: str) -> set[str]:
    return {c.thumbprint for c in lab.certificate_store(server).personal()}


def test_thumbprints_typed_after_a_restart_still_resolve(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        before = thumbprints(lab, "ADATUM-CAS1")
        output = ok(
            lab,
            "Adatum",
            'New-ExchangeCertificate -Server ADATUM-CAS1 -SubjectName "CN=smtp.adatum.com" '
            "-DomainName smtp.adatum.com",
        )
        (thumbprint,) = thumbprints(lab, "ADATUM-CAS1") - before
        assert thumbprint in output
        root = lab.authorities["adatum"].certificate
    with kept_lab(tmp_path) as lab:
        # The certificates of the lab's start (setup's self-signed one, the lab file's) and
        # the one New-ExchangeCertificate made are the same ones.
        assert thumbprints(lab, "ADATUM-CAS1") == before | {thumbprint}
        assert lab.authorities["adatum"].certificate == root
        ok(
            lab,
            "Adatum",
            f"Enable-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {thumbprint} -Services SMTP",
        )
        assert "SMTP" in lab.certificate_store("ADATUM-CAS1").get(thumbprint).services
    with kept_lab(tmp_path) as lab:
        # ... and what was typed with it is replayed: SMTP stays enabled on it.
        assert "SMTP" in lab.certificate_store("ADATUM-CAS1").get(thumbprint).services


def test_configuration_is_replayed_as_typed_and_reads_are_not_kept(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        for line in RELAY:
            ok(lab, "Adatum", line)
        ok(lab, "Adatum", "Get-SendConnector | Format-List")
        failed = lab.run_shell(
            "Adatum", "Set-TransportConfig -TLSReceiveDomainSecureList treyresearch.net\nNo-Such"
        )
        assert failed.error is not None
        ok(lab, "TreyResearch", "Stop-LabServer TREY-CAS1")
        lab.advance(timedelta(days=2).total_seconds())
        later = lab.now()
    with sqlite3.connect(tmp_path / "state.db") as db:
        journal = [row[0] for row in db.execute("SELECT statement FROM journal ORDER BY seq")]
    assert journal == [
        *RELAY,
        "Set-TransportConfig -TLSReceiveDomainSecureList treyresearch.net",
        "Stop-LabServer TREY-CAS1",
    ]
    with kept_lab(tmp_path) as lab:
        assert lab.restore_warnings == []
        assert lab.organization("Adatum").send_connector("To Trey") is not None
        assert "treyresearch.net" in ok(lab, "Adatum", "Get-TransportConfig | Format-List")
        assert not lab.server_running("TREY-CAS1")
        assert lab.now() >= later  # the lab clock goes on from where :advance left it


def test_queued_messages_mailboxes_and_tracking_survive(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        for line in RELAY:
            ok(lab, "Adatum", line)
        ok(lab, "TreyResearch", "Stop-LabServer TREY-CAS1")
        message_id = lab.send(
            mail_from="april@adatum.com", to=["ed@adatum.com", "ben@treyresearch.net"], subject="s1"
        )
        assert [m.message_id for m in lab.inbox("ed@adatum.com")] == [message_id]
        assert "Retry" in ok(lab, "Adatum", "Get-Queue")
        tracking = lab.tracking_log("Adatum")
    with kept_lab(tmp_path) as lab:
        assert [m.message_id for m in lab.inbox("ed@adatum.com")] == [message_id]
        assert lab.tracking_log("Adatum")[: len(tracking)] == tracking
        assert lab.inbox("ben@treyresearch.net") == ()
        ok(lab, "TreyResearch", "Start-LabServer TREY-CAS1")
        lab.advance(3600)
        assert [m.message_id for m in lab.inbox("ben@treyresearch.net")] == [message_id]
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT COUNT(*) FROM queued").fetchone()[0] == 0


def test_a_message_sent_again_after_a_crash_is_delivered_once(tmp_path: Path) -> None:
    """The next hop accepted the message with 250, the lab died before the removal from its
    queue was committed: after the restart it is sent again, and TREY-MBX1's store detects
    the duplicate by Message-ID (tracking DUPLICATEDELIVER) instead of delivering it twice."""
    with kept_lab(tmp_path) as lab:
        for line in RELAY:
            ok(lab, "Adatum", line)
        ok(lab, "TreyResearch", "Stop-LabServer TREY-CAS1")
        message_id = lab.send(
            mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="once"
        )
        with sqlite3.connect(tmp_path / "state.db") as db:
            (row,) = db.execute("SELECT * FROM queued").fetchall()
        ok(lab, "TreyResearch", "Start-LabServer TREY-CAS1")
        lab.advance(3600)
        assert len(lab.inbox("ben@treyresearch.net")) == 1
    with sqlite3.connect(tmp_path / "state.db") as db:
        # The queue row as it was before the next hop's 250: the crash came before its removal.
        db.execute(f"INSERT INTO queued VALUES ({', '.join('?' * len(row))})", row)
    with kept_lab(tmp_path) as lab:
        lab.run_until_idle()
        assert [m.message_id for m in lab.inbox("ben@treyresearch.net")] == [message_id]
        duplicates = [
            line for line in lab.tracking_log("TreyResearch") if ",DUPLICATEDELIVER," in line
        ]
        assert len(duplicates) == 1 and message_id in duplicates[0]
        assert re.search(r"Ready\s+0\b", ok(lab, "Adatum", "Get-Queue | Format-Table"))


def test_a_replayed_statement_that_fails_now_is_reported_and_skipped(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        root = tmp_path / "certs" / "partner-root.cer"
        root.write_bytes((tmp_path / "certs" / "TreyResearch" / "root-ca.cer").read_bytes())
        ok(
            lab,
            "Adatum",
            "Import-Certificate -FilePath partner-root.cer -CertStoreLocation Cert:\\LocalMachine\\Root",
        )
        ok(lab, "Adatum", "Set-TransportConfig -TLSReceiveDomainSecureList treyresearch.net")
    root.unlink()
    with kept_lab(tmp_path) as lab:
        (warning,) = lab.restore_warnings
        assert "replaying 'Import-Certificate -FilePath partner-root.cer" in warning
        assert "the lab goes on without it" in warning
        # The statements after it were replayed.
        assert "treyresearch.net" in ok(lab, "Adatum", "Get-TransportConfig | Format-List")


def test_internal_ids_go_on_after_a_restart(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        lab.send(mail_from="april@adatum.com", to=["ed@adatum.com"], subject="one")
        first = lab.world.tracking_logs["ADATUM-MBX1"].records()[-1].internal_message_id
    with kept_lab(tmp_path) as lab:
        lab.send(mail_from="april@adatum.com", to=["ed@adatum.com"], subject="two")
        second = lab.world.tracking_logs["ADATUM-MBX1"].records()[-1].internal_message_id
    assert first is not None and second is not None and second > first
