"""The cmdlets labsim implements, one module per noun group; :func:`default_catalog` joins them.

To add a cmdlet: write its body ``(ctx, args) -> objects`` and a :class:`CmdletSpec` in a module
here, list the module's ``SPECS`` below (or call ``catalog.register(spec)`` on a catalog of your
own and pass it to :class:`labsim.ems.shell.Shell`).
"""

from __future__ import annotations

from labsim.ems.catalog import Catalog
from labsim.ems.cmdlets import (
    certificate_provider,
    certificate_requests,
    certificates,
    directory,
    event_log,
    exchange_server,
    formatting,
    frontend_transport_service,
    help,
    lab_actions,
    log_files,
    mail,
    message_tracking,
    objects,
    receive_connector,
    send_connector,
    services,
    transport_config,
    transport_service,
)


def default_catalog() -> Catalog:
    """A catalog holding every cmdlet labsim implements."""
    return Catalog(
        (
            *transport_config.SPECS,
            *transport_service.SPECS,
            *frontend_transport_service.SPECS,
            *send_connector.SPECS,
            *receive_connector.SPECS,
            *certificates.SPECS,
            *certificate_requests.SPECS,
            *certificate_provider.SPECS,
            *log_files.SPECS,
            *mail.SPECS,
            *directory.SPECS,
            *exchange_server.SPECS,
            *message_tracking.SPECS,
            *event_log.SPECS,
            *services.SPECS,
            *lab_actions.SPECS,
            *objects.SPECS,
            *formatting.SPECS,
            *help.SPECS,
        )
    )
