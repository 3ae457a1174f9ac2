"""A labsim bug in the delivery path is a bug, not a mail outcome (issue 10): the exception is
recorded (``World.record_engine_error``), the queue retries with Exchange's transient reply,
and no internal error text ever reaches LastError."""

from __future__ import annotations

import pytest
from integration_helpers import sh

from labsim.engine import frontend, outbound, transport_service
from labsim.lab import Lab
from labsim.model.enums import QueueStatus
from labsim.model.mail import QueueView

TRANSIENT = "{LED=451 4.3.2 Temporary server error. Please try again later}"
TRANSIENT_AFTER_FAILOVER = (
    '{LED=451 4.4.0 Primary target IP address responded with: "451 4.3.2 Temporary server '
    'error. Please try again later." Attempted failover'
)
"""A session that broke on a labsim bug is a failed target: LastError wraps the reply (§17 C1)."""


def trey_queue(lab: Lab) -> QueueView:
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    return queue


def internet_connector(lab: Lab) -> None:
    sh(lab, "Adatum", 'New-SendConnector -Name "To Internet" -Internet -AddressSpaces *')


def boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("boom in the engine")


@pytest.mark.engine_errors_expected
def test_a_bug_while_opening_the_session_is_recorded_and_retried(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    internet_connector(lab)
    monkeypatch.setattr(outbound, "negotiated_description", boom)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="bug")

    queue = trey_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert TRANSIENT_AFTER_FAILOVER in queue.last_error
    assert "boom" not in queue.last_error
    (error,) = lab.world.engine_errors
    assert error.server == "ADATUM-MBX1" and error.error == "RuntimeError: boom in the engine"
    assert "outbound session" in error.where

    monkeypatch.undo()  # the bug is fixed: the next retry delivers
    lab.advance(5 * 60)
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["bug"]


@pytest.mark.engine_errors_expected
def test_a_bug_during_the_transaction_is_recorded_and_retried(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    internet_connector(lab)
    monkeypatch.setattr(transport_service, "apply_send_firewall", boom)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="bug")

    queue = trey_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert TRANSIENT in queue.last_error
    (error,) = lab.world.engine_errors
    assert error.where == "delivery (transaction)"
    assert lab.world.activity.idle

    monkeypatch.undo()
    lab.advance(5 * 60)
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["bug"]


@pytest.mark.engine_errors_expected
def test_a_bug_in_the_client_access_servers_proxy_is_recorded_and_retried(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    sh(
        lab,
        "Adatum",
        'New-SendConnector -Name "To Internet" -Internet -AddressSpaces * '
        "-FrontendProxyEnabled $true",
    )
    monkeypatch.setattr(frontend, "apply_send_firewall", boom)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="bug")

    queue = trey_queue(lab)
    assert queue.status is QueueStatus.RETRY
    assert TRANSIENT in queue.last_error  # the CAS's transient reply, not the exception
    (error,) = lab.world.engine_errors
    assert error.server == "ADATUM-CAS1" and error.where == "Front End Transport (message)"

    monkeypatch.undo()
    lab.advance(5 * 60)
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["bug"]
