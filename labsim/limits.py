"""labsim's bounds on what users ask for, documented together in docs/limits.md.

Here: the certificates of lab files, New-LabCertificate and New-ExchangeCertificate. Names are
bounded by X.520 (a longer CN or O cannot be encoded: ``cryptography`` refuses it); validity by
labsim, so that no certificate date leaves what ``datetime`` can hold. The other bounds live
beside the code that reads the input: file sizes in :mod:`labsim.inputfiles`, TOML nesting in
:mod:`labsim.tomlfiles`, ``advance`` and ``send.size`` in :mod:`labsim.scenario.model`, time
spans in :func:`labsim.model.values.parse_timespan`.

Stdlib only, and outside :mod:`labsim.pki` (whose package loads OpenSSL), so that the shell's
parameter checks can use it.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = [
    "EARLIEST_NOT_BEFORE",
    "NOT_BEFORE_DAYS_RANGE",
    "UB_COMMON_NAME",
    "UB_ORGANIZATION_NAME",
    "VALID_DAYS_RANGE",
    "date_problem",
    "name_length_problem",
]

UB_COMMON_NAME = 64
"""X.520's upper bound on a common name (ub-common-name), in characters."""

UB_ORGANIZATION_NAME = 64
"""X.520's upper bound on an organization name (ub-organization-name), in characters."""

VALID_DAYS_RANGE = (1, 36500)
"""labsim's bounds on a leaf certificate's validity in days (lab files' ``valid_days``,
New-LabCertificate -ValidDays): up to 100 years, so NotAfter stays far below the year 9999."""

NOT_BEFORE_DAYS_RANGE = (-18250, 36500)
"""labsim's bounds on a leaf certificate's NotBefore, in days from lab time (lab files'
``not_before_days``, New-LabCertificate -NotBeforeDays): 50 years back (a lab that starts today
stays clear of 1950, the earliest NotBefore ``cryptography`` encodes), 100 years ahead."""

EARLIEST_NOT_BEFORE = datetime(1950, 1, 1, tzinfo=UTC)
"""The earliest NotBefore a certificate can have (``cryptography`` refuses earlier ones)."""


def date_problem(not_before: datetime) -> str | None:
    """Why a certificate cannot start at ``not_before``, or None."""
    if not_before < EARLIEST_NOT_BEFORE:
        return (
            f"NotBefore {not_before:%Y-%m-%d} is before 1950-01-01, the earliest date labsim can "
            "put in a certificate; give a later NotBefore"
        )
    return None


def name_length_problem(common_name: str, organization: str | None = None) -> str | None:
    """Why a subject with these values cannot be encoded (X.520 upper bounds), or None."""
    for attribute, value, bound in (
        ("CN", common_name, UB_COMMON_NAME),
        ("O", organization, UB_ORGANIZATION_NAME),
    ):
        if value is not None and len(value) > bound:
            return (
                f"the {attribute} '{value}' holds {len(value)} characters; a certificate's "
                f"{attribute} holds at most {bound} (X.520), so shorten it"
            )
    return None
