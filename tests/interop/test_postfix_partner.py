"""A real Postfix as Fabrikam, an outside organization of a live lab (``labsim up``), both ways.

Fabrikam (fabrikam.org) is a private Postfix instance on 127.0.40.1 with its own CA; Adatum is
simulated. Each side does what its admin would: Adatum imports Fabrikam's root, lists
fabrikam.org in both TLS lists, and creates a Partner receive connector for 127.0.40.1 and a
Partner send connector to fabrikam.org; Postfix trusts Adatum's root, sends adatum.com to the
lab's CAS with a ``secure`` policy, and asks for client certificates.

* Postfix → labsim arrives with the green check (AuthAs Partner), and Postfix verified the lab.
* labsim → Postfix arrives over mutual TLS: the lab checked Postfix's certificate for
  fabrikam.org, and Postfix's log says ``Trusted TLS connection established`` (it verified the
  lab's client certificate).
* A wrong certificate name defers with 4.7.5 on the side that checks, and the message is
  delivered after the fix, on each side.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from postfix import LocalCA, PrivatePostfix, Route, TlsPolicy, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from live_helpers import LiveLab  # noqa: E402

FABRIKAM = "127.0.40.1"

LAB_FILE = """\
name = "postfix-partner"

[[organizations]]
name = "Adatum"
domains = ["adatum.com"]
mailboxes = ["administrator", "april", "ed"]

[[organizations.servers]]
name = "ADATUM-CAS1"
role = "ClientAccess"
fqdn = "mail.adatum.com"
address = "127.0.10.1"

[[organizations.servers.certificates]]
common_name = "mail.adatum.com"
dns_names = ["mail.adatum.com", "adatum.com"]

[[organizations.servers]]
name = "ADATUM-MBX1"
role = "Mailbox"
fqdn = "adatum-mbx1.adatum.com"
address = "127.0.10.2"

[[organizations.servers.certificates]]
common_name = "adatum-mbx1.adatum.com"
dns_names = ["adatum-mbx1.adatum.com", "adatum.com"]

[[outside_organizations]]
name = "Fabrikam"
domains = ["fabrikam.org"]
address = "{address}"
port = {port}
mx_host = "mail.fabrikam.org"
roots = ["fabrikam-root.pem"]
"""


class Partners:
    """The lab, the Postfix, and Adatum's side of the agreement."""

    def __init__(self, lab: LiveLab, postfix: PrivatePostfix) -> None:
        self.lab = lab
        self.postfix = postfix

    def adatum(self, line: str) -> str:
        output = self.lab.sh("Adatum", line)
        return output


@pytest.fixture
def partners(tmp_path: Path, private_postfix: Callable[..., PrivatePostfix]) -> Iterator[Partners]:
    ca = LocalCA("Fabrikam Root CA", organization="Fabrikam")
    ca.write(tmp_path / "fabrikam-root.pem")
    port = free_port(FABRIKAM)
    (tmp_path / "lab.toml").write_text(LAB_FILE.format(address=FABRIKAM, port=port))
    lab = LiveLab(tmp_path, "--lab", str(tmp_path / "lab.toml"))
    try:
        cas_port = lab.port("ADATUM-CAS1")
        postfix = private_postfix(
            address=FABRIKAM,
            port=port,
            hostname="mail.fabrikam.org",
            domains=("fabrikam.org",),
            certificate_names=("mail.fabrikam.org", "fabrikam.org"),
            ca=ca,
            trusted_roots=[Path(lab.root("Adatum"))],
            routes={
                "adatum.com": Route(
                    "127.0.10.1", cas_port, TlsPolicy("secure", match=("mail.adatum.com",))
                )
            },
            require_client_certificate=False,
        )
        for line in (
            "Import-Certificate -FilePath Fabrikam\\root-ca.cer "
            "-CertStoreLocation Cert:\\LocalMachine\\Root",
            "Set-TransportConfig -TLSSendDomainSecureList fabrikam.org "
            "-TLSReceiveDomainSecureList fabrikam.org",
            'New-ReceiveConnector -Name "From Fabrikam" -Server ADATUM-CAS1 -Partner '
            f"-Bindings 0.0.0.0:25 -RemoteIPRanges {FABRIKAM} -ProtocolLoggingLevel Verbose",
            'New-SendConnector -Name "To Fabrikam" -Partner -AddressSpaces fabrikam.org '
            "-SourceTransportServers ADATUM-MBX1 -DomainSecureEnabled $true "
            "-ProtocolLoggingLevel Verbose",
        ):
            output = lab.sh("Adatum", line)
            assert "Exception" not in output and "error" not in output.lower(), output
        yield Partners(lab, postfix)
    finally:
        lab.close()


def inbox(lab: LiveLab, address: str) -> str:
    return lab.sh("Adatum", f":inbox {address}")


def test_postfix_to_labsim_arrives_domain_secured(partners: Partners) -> None:
    postfix = partners.postfix
    # labsim up tells where the outside organization is and where its root went.
    outside = partners.lab.info["outside_organizations"]["Fabrikam"]
    assert (outside["address"], outside["port"]) == (FABRIKAM, postfix.port)
    assert Path(outside["roots"][0]).read_bytes() == postfix.ca_path.read_bytes()
    assert f"SMTP on port {postfix.port} (no offset)" in partners.lab.banner
    since = postfix.log_position()
    postfix.send("jamie@fabrikam.org", "ed@adatum.com", "From Postfix")
    postfix.wait_for_log(r"to=<ed@adatum\.com>.*status=sent", timeout=30, since=since)
    # Postfix checked the lab: chain to Adatum's root and the name mail.adatum.com.
    postfix.wait_for_log(r"Verified TLS connection established to 127\.0\.10\.1", since=since)
    line = next(x for x in inbox(partners.lab, "ed@adatum.com").splitlines() if "From Postfix" in x)
    assert "✔ domain secured" in line and "(AuthAs Partner)" in line


def test_labsim_to_postfix_arrives_over_mutual_tls(partners: Partners) -> None:
    postfix = partners.postfix
    since = postfix.log_position()
    partners.adatum(
        "Send-MailMessage -From ed@adatum.com -To jamie@fabrikam.org -Subject 'From Adatum'"
    )
    [message] = postfix.wait_for_messages(1, recipient="jamie@fabrikam.org")
    assert message["Subject"] == "From Adatum"
    # Postfix verified the lab's client certificate (ADATUM-MBX1's, from Adatum's CA).
    postfix.wait_for_log(
        r"Trusted TLS connection established from [^\[]*\[127\.0\.10\.2\]", since=since
    )
    # The lab's side: its send log shows the domain-secure verdict for fabrikam.org.
    # The lab's side: ADATUM-MBX1's send log shows the session to Postfix's own port (no
    # offset) and the certificate it checked.
    log = partners.lab.sh("Adatum", ":log ADATUM-MBX1 send 200")
    assert f"{FABRIKAM}:{postfix.port}" in log, log
    assert "CN=mail.fabrikam.org" in log, log
    # Postfix 3.7 offers CHUNKING, so the lab sends the message as Exchange does: one
    # BDAT <n> LAST, answered by Postfix's own queued reply; no DATA.
    lines = log.splitlines()
    chunks = [re.search(r",>,BDAT ([0-9]+) LAST,", x) for x in lines]
    sent = [(n, m[1]) for n, m in enumerate(chunks) if m is not None]
    assert len(sent) == 1, log
    at, size = sent[0]
    answer = lines[at + 1]
    # Postfix counted exactly the octets the chunk announced.
    assert re.search(rf",<,250 2\.0\.0 Ok: {size} bytes queued as [0-9A-F]+,", answer), log
    assert ",>,DATA," not in log, log


def test_a_wrong_name_on_postfix_defers_with_4_7_5_then_delivers(partners: Partners) -> None:
    postfix = partners.postfix
    # A certificate for another domain. (mail.fabrikam.org alone would pass: Exchange accepts a
    # name one label below the domain: docs/exchange-reference.md §4.3.)
    postfix.set_certificate_names(("mail.contoso.test",))
    partners.adatum(
        "Send-MailMessage -From ed@adatum.com -To jamie@fabrikam.org -Subject 'Checked'"
    )
    queue = partners.adatum("Get-Queue -Identity ADATUM-MBX1\\fabrikam.org | FL Status,LastError")
    assert "Retry" in queue and "454 4.7.5" in queue, queue
    assert postfix.delivered_messages("jamie@fabrikam.org") == []
    postfix.set_certificate_names(("mail.fabrikam.org", "fabrikam.org"))
    partners.adatum("Retry-Queue -Identity ADATUM-MBX1\\fabrikam.org")
    [message] = postfix.wait_for_messages(1, recipient="jamie@fabrikam.org")
    assert message["Subject"] == "Checked"


def test_a_wrong_name_expected_by_postfix_defers_then_delivers(partners: Partners) -> None:
    postfix = partners.postfix
    cas_port = partners.lab.port("ADATUM-CAS1")
    postfix.set_route(
        "adatum.com",
        Route("127.0.10.1", cas_port, TlsPolicy("secure", match=("mail.contoso.test",))),
    )
    since = postfix.log_position()
    postfix.send("jamie@fabrikam.org", "ed@adatum.com", "Checked by Postfix")
    postfix.wait_for_log(r"to=<ed@adatum\.com>.*dsn=4\.7\.5, status=deferred", since=since)
    assert "Checked by Postfix" not in inbox(partners.lab, "ed@adatum.com")
    postfix.set_route(
        "adatum.com",
        Route("127.0.10.1", cas_port, TlsPolicy("secure", match=("mail.adatum.com",))),
    )
    postfix.flush()
    postfix.wait_for_log(r"to=<ed@adatum\.com>.*status=sent", timeout=30, since=since)
    line = next(
        x for x in inbox(partners.lab, "ed@adatum.com").splitlines() if "Checked by Postfix" in x
    )
    assert "✔ domain secured" in line
