"""Revocation through real sockets (docs/exchange-reference.md §4.3, D5): every lab CA publishes its CRL over HTTP
on 127.0.80.1, each server fetches the CRLs of a presented chain from its own address, and
OpenSSL checks them at lab time.

* The walkthrough still delivers domain-secured, and the CRL web server saw the fetches.
* A revoked sending certificate: the receiver refuses MAIL FROM with 454 4.7.5 (status Revoked)
  and the message waits in Retry; a revoked receiving certificate: the sender fails the session.
* An unreachable CRL (Set-LabCrl): tolerated and logged under exchange2013, 454 4.7.5 with
  RevocationOffline under exchange2010, delivered after the fix and Retry-Queue.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from integration_helpers import (
    configure_walkthrough,
    import_partner_root,
    lab_with_mailbox_certificate,
    new_partner_receive_connector,
    new_partner_send_connector,
    protocol_records,
    proxied_refusal_led,
    set_lists,
    sh,
)
from twisted.internet.defer import Deferred

from labsim.engine.receive import SmtpReceiveProtocol
from labsim.lab import Lab
from labsim.model.enums import FidelityProfile, QueueStatus
from labsim.model.lab import LabDefinition, default_lab
from labsim.model.mail import QueueView
from labsim.net.crl import CrlFetch

ADATUM_CRL = "http://crl.adatum.com/AdatumRootCA.crl"
TREY_CRL = "http://crl.treyresearch.net/TreyResearchRootCA.crl"
QUEUE = "ADATUM-MBX1\\treyresearch.net"
CRL_TOLERATED = (
    "CRL validation failed with status RevocationOffline. Treating the failure as success."
)
THUMBPRINT = re.compile(r"^(?P<thumbprint>[0-9A-F]{40})\s+\S+\s+CN=(?P<cn>[^,\s]+)", re.M)


def _walkthrough(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")


def _thumbprint(lab: Lab, org: str, server: str, common_name: str) -> str:
    """Find a certificate the way an admin would: Get-ExchangeCertificate on the server."""
    output = sh(lab, org, f"Get-ExchangeCertificate -Server {server}")
    found = [m["thumbprint"] for m in THUMBPRINT.finditer(output) if m["cn"] == common_name]
    assert len(found) == 1, output
    return found[0]


def _queue(lab: Lab) -> QueueView:
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    return queue


def _receiver_log(lab: Lab) -> list[dict[str, str]]:
    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    return [r for r in records if r["connector-id"] == "TREY-CAS1\\From Adatum"]


def _profile_2010() -> LabDefinition:
    return dataclasses.replace(default_lab(), profile=FidelityProfile.EXCHANGE2010)


def test_walkthrough_fetches_the_crls_and_still_delivers_domain_secured(lab: Lab) -> None:
    _walkthrough(lab)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Checked")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    assert message.header("X-MS-Exchange-Organization-AuthDomain") == "adatum.com"
    server = lab.world.crl_server
    assert server is not None
    served = [(r.client, r.host, r.path, r.outcome) for r in server.requests]
    # TREY-CAS1 checked ADATUM-CAS1's client certificate with Adatum's CRL, fetched from its
    # own address through the lab DNS. ADATUM-CAS1 sends for a FrontendProxyEnabled connector
    # with opportunistic TLS (D2): it does not judge TREY-CAS1's certificate, so it fetches no
    # CRL (revocation is checked only where a verdict rests on it).
    assert served == [("127.0.20.1", "crl.adatum.com", "/AdatumRootCA.crl", "200")]
    assert "TREY-CAS1" in lab.world.crl_cache.holders(ADATUM_CRL)
    notes = [n for n in lab.explain() if n.startswith("TREY-CAS1: revocation check")]
    assert any(f"{ADATUM_CRL} fetched from 127.0.20.1: HTTP 200, 0 revoked" in n for n in notes)

    # A second message uses the cached CRL: no new request for it.
    before = len(server.requests)
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Cached")
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["Checked", "Cached"]
    assert not any(
        r.client == "127.0.20.1" and r.host == "crl.adatum.com" for r in server.requests[before:]
    )


def test_revoked_sending_certificate_is_refused_at_mail_from_and_waits_in_retry(
    lab: Lab,
) -> None:
    _walkthrough(lab)
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Before")
    assert len(lab.inbox("ben@treyresearch.net")) == 1  # the CRL is now cached on TREY-CAS1

    thumbprint = _thumbprint(lab, "Adatum", "ADATUM-CAS1", "mail.adatum.com")
    output = sh(lab, "Adatum", f"Revoke-LabCertificate -Thumbprint {thumbprint}")
    assert "Adatum Root CA" in output
    assert ADATUM_CRL not in lab.world.crl_cache  # the revocation dropped the cached CRL

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Revoked")

    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["Before"]
    queue = _queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert proxied_refusal_led("454 4.7.5 Certificate validation failure") in queue.last_error
    replies = [r["data"] for r in _receiver_log(lab)]
    assert replies.count("454 4.7.5 Certificate validation failure") == 1
    explained = [
        n for n in lab.explain() if n.startswith("TREY-CAS1: docs/exchange-reference.md §5.3")
    ]
    assert "client certificate chain status Revoked" in explained[-1]
    assert "454 4.7.5 Certificate validation failure" in explained[-1]
    assert lab.inbox("april@adatum.com") == ()  # transient: no NDR


def test_mail_from_waits_for_a_crl_fetch_still_in_flight(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold TREY-CAS1's fetch of Adatum's CRL until MAIL FROM has arrived, so the receiver must
    # answer MAIL FROM only once the check is done (no wall-clock wait: MAIL FROM opens the gate).
    _walkthrough(lab)
    thumbprint = _thumbprint(lab, "Adatum", "ADATUM-CAS1", "mail.adatum.com")
    sh(lab, "Adatum", f"Revoke-LabCertificate -Thumbprint {thumbprint}")
    fetcher = lab.world.crl_fetcher
    assert fetcher is not None
    real_fetch = fetcher.fetch
    gate: Deferred[None] = Deferred()
    waited: list[bool] = []

    def gated_fetch(url: str, *, source: str, **kwargs: Any) -> Deferred[CrlFetch]:
        result: Deferred[CrlFetch] = real_fetch(url, source=source, **kwargs)
        if source != "127.0.20.1" or url != ADATUM_CRL:
            return result
        out: Deferred[CrlFetch] = Deferred()
        result.addCallback(lambda fetched: gate.addCallback(lambda _: out.callback(fetched)))
        return out

    real_mail_from = SmtpReceiveProtocol._mail_from

    def mail_from(self: SmtpReceiveProtocol, tx: Any, event: Any) -> Any:
        reply = real_mail_from(self, tx, event)
        if self.server_name == "TREY-CAS1" and not gate.called:
            waited.append(isinstance(reply, Deferred) and not reply.called)
            gate.callback(None)
        return reply

    monkeypatch.setattr(fetcher, "fetch", gated_fetch)
    monkeypatch.setattr(SmtpReceiveProtocol, "_mail_from", mail_from)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Waited")

    assert waited == [True]
    assert lab.inbox("ben@treyresearch.net") == ()
    assert "454 4.7.5 Certificate validation failure" in [r["data"] for r in _receiver_log(lab)]


def test_revoked_receiving_certificate_fails_the_session_on_the_sending_side(
    start_lab: Callable[..., Lab],
) -> None:
    # D13: without the proxy ADATUM-MBX1 sends itself and judges TREY-CAS1's certificate.
    lab = start_lab(lab_with_mailbox_certificate())
    set_lists(lab, "Adatum", send="treyresearch.net", receive="treyresearch.net")
    new_partner_send_connector(lab, "Adatum", proxy=False)
    import_partner_root(lab, "Adatum")
    import_partner_root(lab, "TreyResearch")
    set_lists(lab, "TreyResearch", send="adatum.com", receive="adatum.com")
    new_partner_receive_connector(lab, "TreyResearch", remote="127.0.10.2")
    thumbprint = _thumbprint(lab, "TreyResearch", "TREY-CAS1", "mail.treyresearch.net")
    sh(lab, "TreyResearch", f"Revoke-LabCertificate -Thumbprint {thumbprint} -Server TREY-CAS1")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="To revoked")

    assert lab.inbox("ben@treyresearch.net") == ()
    queue = _queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert (
        '{LED=451 4.4.0 Primary target IP address responded with: "454 4.7.5 Certificate '
        'validation failure." Attempted failover'
    ) in queue.last_error
    notes = [
        n for n in lab.explain() if n.startswith("ADATUM-MBX1: docs/exchange-reference.md §4.3")
    ]
    assert any("chain status Revoked" in n for n in notes), notes
    assert lab.world.crl_server is not None
    served = lab.world.crl_server.requests
    assert any(r.client == "127.0.10.2" and r.host == "crl.treyresearch.net" for r in served)


def test_unreachable_crl_is_tolerated_and_logged_under_exchange2013(lab: Lab) -> None:
    _walkthrough(lab)
    sh(lab, "Adatum", "Set-LabCrl -Organization Adatum -Reachable $false")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Offline 2013")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    server = lab.world.crl_server
    assert server is not None
    aborted = [r for r in server.requests if r.outcome == "aborted"]
    assert any(r.client == "127.0.20.1" and r.host == "crl.adatum.com" for r in aborted)
    log = _receiver_log(lab)
    assert any(r["context"] == CRL_TOLERATED for r in log), [r["context"] for r in log]
    explained = [
        n for n in lab.explain() if n.startswith("TREY-CAS1: docs/exchange-reference.md §5.3")
    ]
    assert "chain status is RevocationOffline (CRL unreachable: tolerated" in explained[-1]
    assert "connection closed before any HTTP answer" in "\n".join(lab.explain())


def test_unreachable_crl_fails_under_exchange2010_until_it_is_reachable_again(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab(_profile_2010())
    _walkthrough(lab)
    sh(lab, "Adatum", "Set-LabCrl -Organization Adatum -Reachable $false")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Offline 2010")

    assert lab.inbox("ben@treyresearch.net") == ()
    queue = _queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert proxied_refusal_led("454 4.7.5 Certificate validation failure") in queue.last_error
    assert "454 4.7.5 Certificate validation failure" in [r["data"] for r in _receiver_log(lab)]
    assert not any(r["context"] == CRL_TOLERATED for r in _receiver_log(lab))
    explained = [
        n for n in lab.explain() if n.startswith("TREY-CAS1: docs/exchange-reference.md §5.3")
    ]
    assert "client certificate chain status RevocationOffline" in explained[-1]
    assert "fails under profile exchange2010" in explained[-1]

    # The fix: the CRL is reachable again, and the admin retries the queue.
    sh(lab, "Adatum", "Set-LabCrl -Organization Adatum -Reachable $true")
    sh(lab, "Adatum", f"Retry-Queue -Identity {QUEUE}")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.subject == "Offline 2010"
    assert message.domain_secured
    assert _queue(lab).message_count == 0
