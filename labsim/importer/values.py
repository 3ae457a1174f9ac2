"""Values as Exchange prints them, read back: booleans, sizes, dates, names, lists of flags.

Format-List prints with the shell's culture, so sizes and dates vary: ``35 MB (36,700,160
bytes)`` (en-US), ``35 MB (36.700.160 bytes)`` (de-DE), ``35 MB (36 700 160 bytes)`` with a
no-break space (fr-FR); dates ``3/14/2027 11:59:59 PM`` (en-US), ``14/03/2027 23:59:59``
(en-GB, fr-FR), ``14.03.2027 23:59:59`` (de-DE), and ISO 8601 from Export-Clixml. The rule for
dates: an AM/PM marker means month first; otherwise "/" and "." mean day first, "-" ISO.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_BYTES = re.compile(r"\((?P<n>[\d.,\s\u00a0\u202f']+)\s*bytes?\)", re.IGNORECASE)
_PLAIN_SIZE = re.compile(r"\A(?P<n>\d+(?:[.,]\d+)?)\s*(?P<unit>B|KB|MB|GB|TB)\Z", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_DATE = re.compile(
    r"\A(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*\Z"
)


def boolean(text: str) -> bool | None:
    """``True``/``False`` (any case, ``$true`` too); None when the text is neither."""
    value = text.strip().lstrip("$").lower()
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def byte_count(text: str) -> int | None:
    """The byte count of a size (``35 MB (36,700,160 bytes)``, ``36700160``, ``10MB``);
    None for ``Unlimited``. Raises ValueError for anything else."""
    body = text.strip()
    if body.lower() == "unlimited":
        return None
    match = _BYTES.search(body)
    if match is not None:
        return int(re.sub(r"\D", "", match["n"]))
    if body.isdigit():
        return int(body)
    plain = _PLAIN_SIZE.match(body)
    if plain is not None:
        return int(float(plain["n"].replace(",", ".")) * _UNITS[plain["unit"].lower()])
    raise ValueError(f"'{text}' is not a size such as '35 MB (36,700,160 bytes)' or 'Unlimited'")


def date(text: str) -> datetime:
    """A date and time as Format-List or Export-Clixml printed it, as an aware UTC datetime
    (a time without a zone is taken as UTC: a day's accuracy is all the importer needs)."""
    match = _DATE.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a date such as 3/14/2027 11:59:59 PM or 2027-03-14")
    a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
    sep = match["sep"]
    if len(match["a"]) == 4:
        year, month, day = a, b, c
    elif match["ampm"]:
        month, day, year = a, b, c
    elif sep in "/.":
        day, month, year = a, b, c
    else:
        raise ValueError(f"'{text}' is not a date in a form labsim reads")
    hour = int(match["h"] or 0)
    if match["ampm"]:
        pm = match["ampm"][0].lower() == "p"
        hour = hour % 12 + (12 if pm else 0)
    try:
        return datetime(
            year, month, day, hour, int(match["mi"] or 0), int(match["s"] or 0), tzinfo=UTC
        )
    except ValueError as err:
        raise ValueError(f"'{text}' is not a valid date ({err})") from None


def flags(text: str) -> tuple[str, ...]:
    """A flags value (``Tls, Integrated, BasicAuth``), its names in order."""
    return tuple(part.strip() for part in text.strip("{} ").split(",") if part.strip())


def name_parts(text: str) -> list[tuple[str, str]]:
    """The attributes of a Windows distinguished name (``CN=a, O="b, c", C=US``), in order."""
    parts: list[tuple[str, str]] = []
    for match in re.finditer(r'\s*([A-Za-z0-9.]+)\s*=\s*("(?:[^"]|"")*"|[^,]*)\s*(?:,|\Z)', text):
        value = match[2].strip()
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1].replace('""', '"')
        parts.append((match[1].upper(), value))
    return parts


def common_name(text: str) -> str | None:
    """The first CN of a Windows distinguished name, or None."""
    return next((value for key, value in name_parts(text) if key == "CN"), None)


def attribute(text: str, key: str) -> str | None:
    """The first value of attribute ``key`` (``O``, ``OU`` …) of a distinguished name."""
    return next((value for k, value in name_parts(text) if k == key.upper()), None)
