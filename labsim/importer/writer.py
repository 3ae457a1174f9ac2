"""The lab file text of an import: TOML that ``labsim run``/``labsim up --lab`` load as written.

Rules kept: the file opens with comments saying where it came from, the address map and the
report (what was not modelled, where, why), so the lab file carries its own explanation; each
setup block is a TOML literal string (backslashes in ``SERVER\\Connector`` stay as they are);
every string is written with TOML escapes, so names with quotes cannot break the file.
"""

from __future__ import annotations

import json

from labsim.importer.builder import CertificatePlan, ImportResult, OrganizationPlan


def _string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def _strings(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def _comment(text: str, prefix: str = "# ") -> list[str]:
    return [f"{prefix}{line}".rstrip() for line in text.splitlines() or [""]]


def render_lab_file(result: ImportResult) -> str:
    """The whole lab file."""
    out: list[str] = [
        "# Lab file written by `labsim import` from a production Exchange configuration.",
        f"# Import date (certificate validity is relative to it): {result.as_of:%Y-%m-%d}",
        "# Exports read:",
        *(f"#   {source}" for source in result.sources),
        "#",
        "# Address map (docs/import.md): each real /16 block -> a 127.x /16 block, the last two",
        "# octets kept; servers without a bound address get 127.1.<site>.<n>, simulated",
        "# partners 127.200.<n>.1 (Client Access) and .2 (Mailbox) unless placed inside a range.",
        *(f"#   {line}" for line in result.address_map or ("(no real addresses in the exports)",)),
        "#",
        "# Simulated partners:",
        *(f"#   {line}" for line in result.partners or ("(none)",)),
    ]
    if result.test_mailboxes:
        out += [
            "#",
            "# No Get-Mailbox export: one test mailbox per authoritative domain:",
            *(f"#   {address}" for address in result.test_mailboxes),
        ]
    out += ["#", "# Not modelled (what (where): why):"]
    for item in result.report or ():
        out += _comment(item.line(), "#   ")
    if not result.report:
        out.append("#   (nothing)")
    out += ["", f"name = {_string(result.lab_name)}", ""]
    for organization in result.organizations:
        out += _organization(organization)
    for outside in result.outside:
        out += _comment(outside.comment)
        out += [
            "[[outside_organizations]]",
            f"name = {_string(outside.name)}",
            f"domains = {_strings(outside.domains)}",
            f"address = {_string(outside.address)}",
            f"port = {outside.port}",
        ]
        if outside.roots:
            out.append(f"roots = {_strings(outside.roots)}")
        out.append("")
    for domain, host in result.mx_records:
        out += ["[[mx_records]]", f"domain = {_string(domain)}", f"host = {_string(host)}", ""]
    for name, address in result.a_records:
        out += ["[[a_records]]", f"name = {_string(name)}", f"address = {_string(address)}", ""]
    return "\n".join(out).rstrip() + "\n"


def _organization(org: OrganizationPlan) -> list[str]:
    out: list[str] = []
    for line in org.comment:
        out += _comment(line)
    out += [
        "[[organizations]]",
        f"name = {_string(org.name)}",
        f"domains = {_strings(org.domains)}",
        f"root_ca = {_string(org.root_ca)}",
        *([f"root_ca_subject = {_string(org.root_ca_subject)}"] if org.root_ca_subject else []),
        "mailboxes = [",
        *(
            f"  {{ address = {_string(address)}, display_name = {_string(display)} }},"
            for address, display in org.mailboxes
        ),
        "]",
        f"trusted_roots = {_strings(org.trusted_roots)}",
    ]
    if org.setup:
        body = "\n".join(org.setup)
        if "'''" in body:
            raise ValueError("a setup line holds ''' ; cannot write it as a literal string")
        out += ["setup = ['''", body, "''']"]
    out.append("")
    for server in org.servers:
        if server.comment:
            out += _comment(server.comment)
        out += [
            "[[organizations.servers]]",
            f"name = {_string(server.name)}",
            f"role = {_string(server.role)}",
            f"fqdn = {_string(server.fqdn)}",
            f"address = {_string(server.address)}",
            "",
        ]
        for certificate in server.certificates:
            out += _certificate(certificate)
    return out


def _certificate(cert: CertificatePlan) -> list[str]:
    out = _comment(cert.comment) if cert.comment else []
    out += [
        "[[organizations.servers.certificates]]",
        f"common_name = {_string(cert.common_name)}",
        *([f"subject = {_string(cert.subject)}"] if cert.subject else []),
        f"dns_names = {_strings(cert.dns_names)}",
        f"issuer = {_string(cert.issuer)}",
        f"services = {_strings(cert.services)}",
    ]
    if cert.eku is not None:
        out.append(f"eku = {_strings(cert.eku)}")
    out += [
        f"not_before_days = {cert.not_before_days}",
        f"valid_days = {cert.valid_days}",
    ]
    if cert.friendly_name:
        out.append(f"friendly_name = {_string(cert.friendly_name)}")
    out.append("")
    return out
