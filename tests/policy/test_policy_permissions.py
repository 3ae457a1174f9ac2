"""Permission groups → session permissions and their protocol-log spelling (§3.5, D11)."""

from __future__ import annotations

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
