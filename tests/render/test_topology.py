"""The topology record and its forecast per ordered pair of organizations, before and after
the walkthrough cmdlets."""

from __future__ import annotations

from pathlib import Path

from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.render.topology import topology
from tests.render.conftest import WALKTHROUGH, RunKept

TWO_MAILBOX_SERVERS = (
    Path(__file__).resolve().parents[1] / "integration" / "labs" / "two-mailbox-servers.toml"
)


def test_default_lab_forecasts_no_route(run_kept: RunKept) -> None:
    lab, _ = run_kept(WALKTHROUGH, steps=0)
    t = topology(lab)
    assert [o.name for o in t.organizations] == ["Adatum", "TreyResearch"]
    assert {(p.sender_org, p.receiver_org) for p in t.pairs} == {
        ("Adatum", "TreyResearch"),
        ("TreyResearch", "Adatum"),
    }
    verdict = t.pair("adatum", "treyresearch")
    assert verdict is not None and not verdict.secured
    # The words --explain prints when the message is really routed.
    assert verdict.reason.startswith("docs/exchange-reference.md §4.1.7: no enabled send connector")
    adatum = t.organizations[0]
    assert adatum.domain == "adatum.com"
    assert adatum.tls_send_domain_secure_list == ()
    # Roots not cross-imported yet.
    assert "CN=TreyResearch Root CA, O=TreyResearch" not in adatum.trusted_roots
    cas = next(s for s in adatum.servers if s.name == "ADATUM-CAS1")
    assert (cas.fqdn, cas.address) == ("mail.adatum.com", "127.0.10.1")
    assert cas.certificate is not None
    assert cas.certificate.subject == "CN=mail.adatum.com, O=Adatum"
    assert cas.certificate.issuer == "CN=Adatum Root CA, O=Adatum"


def test_after_the_walkthrough_both_directions_are_domain_secured(walkthrough: Lab) -> None:
    t = topology(walkthrough)
    for sender, receiver, domain in (
        ("Adatum", "TreyResearch", "adatum.com"),
        ("TreyResearch", "Adatum", "treyresearch.net"),
    ):
        verdict = t.pair(sender, receiver)
        assert verdict is not None and verdict.secured, verdict
        assert f"sender domain {domain} is in TLSReceiveDomainSecureList" in verdict.reason
        assert "session identity Partner" in verdict.reason
    adatum = t.organizations[0]
    assert "CN=TreyResearch Root CA, O=TreyResearch" in adatum.trusted_roots
    assert adatum.tls_receive_domain_secure_list == ("treyresearch.net",)
    assert [c.identity for c in adatum.send_connectors] == ["To TreyResearch"]
    assert "ADATUM-CAS1\\From TreyResearch" in [c.identity for c in adatum.receive_connectors]


def test_half_configured_lab_names_the_rule_that_refuses(run_kept: RunKept) -> None:
    # After Adatum's send connector (step 9) but before TreyResearch's Partner receive
    # connector: Adatum's mail reaches TREY-CAS1's Default Frontend connector, which lacks
    # DomainSecureEnabled while adatum.com is in TreyResearch's TLSReceiveDomainSecureList.
    lab, _ = run_kept(WALKTHROUGH, steps=10)
    verdict = topology(lab).pair("Adatum", "TreyResearch")
    assert verdict is not None and not verdict.secured
    assert verdict.reason == (
        "docs/exchange-reference.md §5.3: sender domain adatum.com is in "
        "TLSReceiveDomainSecureList; receive connector TREY-CAS1\\Default Frontend TREY-CAS1 "
        "lacks DomainSecureEnabled: 451 4.7.3 The admin has temporarily disallowed this secure "
        "domain"
    )
    back = topology(lab).pair("TreyResearch", "Adatum")
    assert back is not None and not back.secured
    assert "no enabled send connector of TreyResearch" in back.reason


def test_forecast_follows_the_relay_to_the_connector_source_server(tmp_path: Path) -> None:
    # ADATUM-MBX1 (the first Mailbox server) relays to ADATUM-MBX2, which sources the Partner
    # connector; TreyResearch's Partner receive connector names only ADATUM-MBX2's address, so
    # the forecast is secured only when it judges ADATUM-MBX2's session.
    lab = Lab.start(load_lab_file(TWO_MAILBOX_SERVERS), cert_folder=tmp_path / "certs")
    try:
        verdict = topology(lab).pair("Adatum", "TreyResearch")
    finally:
        lab.stop()
    assert verdict is not None and verdict.secured, verdict
    assert "session identity Partner" in verdict.reason
