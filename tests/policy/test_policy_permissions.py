"""Permission groups → session permissions and their protocol-log spelling (§3.5, D11)."""

from __future__ import annotations

import dataclasses

from policy_helpers import default_frontend, partner_connector

from labsim.model.enums import PermissionGroup
from labsim.policy.permissions import SessionIdentity, format_permissions, permissions_for

G = PermissionGroup


def test_anonymous_spelling_and_order() -> None:
    perms = permissions_for(default_frontend(), SessionIdentity.ANONYMOUS)
    assert format_permissions(perms) == (
        "SMTPSubmit SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders"
    )


def test_partner_gets_only_partners_group() -> None:
    assert format_permissions(permissions_for(partner_connector(), SessionIdentity.PARTNER)) == (
        "SMTPSubmit AcceptRoutingHeaders"
    )
    # D11: no union with the anonymous rights of the same connector.
    assert permissions_for(default_frontend(), SessionIdentity.PARTNER) == frozenset()
    assert permissions_for(partner_connector(), SessionIdentity.ANONYMOUS) == frozenset()


def test_exchange_server_and_users() -> None:
    servers = permissions_for(default_frontend(), SessionIdentity.EXCHANGE_SERVER)
    assert format_permissions(servers) == (
        "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag SMTPAcceptAnySender "
        "SMTPAcceptAuthoritativeDomainSender BypassAntiSpam BypassMessageSizeLimit "
        "SMTPAcceptEXCH50 AcceptRoutingHeaders AcceptForestHeaders AcceptOrganizationHeaders"
    )
    users_only = default_frontend(permission_groups=frozenset({G.EXCHANGE_USERS}))
    assert format_permissions(permissions_for(users_only, SessionIdentity.EXCHANGE_USERS)) == (
        "SMTPSubmit SMTPAcceptAnyRecipient BypassAntiSpam AcceptRoutingHeaders"
    )
    # An Exchange server's account is an authenticated user too.
    assert format_permissions(permissions_for(users_only, SessionIdentity.EXCHANGE_SERVER)) == (
        "SMTPSubmit SMTPAcceptAnyRecipient BypassAntiSpam AcceptRoutingHeaders"
    )


def test_legacy_servers_and_empty() -> None:
    legacy = default_frontend(permission_groups=frozenset({G.EXCHANGE_LEGACY_SERVERS}))
    assert permissions_for(legacy, SessionIdentity.ANONYMOUS) == frozenset()
    assert format_permissions([]) == ""


def test_a_changed_connector_is_seen_after_its_permissions_were_remembered() -> None:
    # Set-ReceiveConnector -PermissionGroups on the same connector (same name and identity):
    # the next session's permissions follow the new groups, not a remembered answer.
    connector = default_frontend()
    before = permissions_for(connector, SessionIdentity.ANONYMOUS)
    assert format_permissions(before).startswith("SMTPSubmit SMTPAcceptAnySender")
    changed = dataclasses.replace(connector, permission_groups=frozenset({G.EXCHANGE_USERS}))
    assert changed.name == connector.name
    assert permissions_for(changed, SessionIdentity.ANONYMOUS) == frozenset()
    assert format_permissions(permissions_for(changed, SessionIdentity.ANONYMOUS)) == ""
    # Given as a plain set (a record built elsewhere), the groups still count.
    as_set = dataclasses.replace(connector, permission_groups={G.ANONYMOUS_USERS})  # type: ignore[arg-type]
    assert permissions_for(as_set, SessionIdentity.ANONYMOUS) == before
