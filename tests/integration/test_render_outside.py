"""A message to an outside organization's real SMTP server (aiosmtpd as Fabrikam) is drawn as
handed over: the last hop ends at that server with its own reply, and the path's outcome says
the message left the lab rather than staying "in flight" for ever."""

from __future__ import annotations

from collections.abc import Callable

from integration_helpers import sh
from test_outside_organization import (
    IMPORT_FABRIKAM_ROOT,
    Fabrikam,
    configure_partner_connector,
    fabrikam,
)

from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.render.paths import message_paths

__all__ = ["fabrikam"]  # the fixture, imported to be used here


def test_a_message_handed_to_an_outside_server_is_delivered_there(
    start_lab: Callable[..., Lab], fabrikam: Fabrikam
) -> None:
    lab = start_lab(load_lab_file(fabrikam.lab_file))
    sh(lab, "Adatum", IMPORT_FABRIKAM_ROOT)
    configure_partner_connector(lab)
    lab.send(mail_from="april@adatum.com", to=["someone@fabrikam.org"], subject="Hello Fabrikam")
    (path,) = [p for p in message_paths(lab) if p.subject == "Hello Fabrikam"]
    last = path.hops[-1]
    assert last.client_server == "ADATUM-MBX1"
    assert last.server_fqdn == "mail.fabrikam.org"
    assert last.reply == "250 2.0.0 Ok: queued by Fabrikam"
    assert last.server_certificate is not None
    assert last.server_certificate.subject == "CN=mail.fabrikam.org"
    assert last.server_certificate.status == "Valid"  # judged: fabrikam.org is domain-secured
    assert path.outcome == "delivered"
    assert path.outcome_text.startswith("Handed to mail.fabrikam.org (127.0.40.21)")
