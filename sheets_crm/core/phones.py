"""Phone numbers as people type them, reduced to E.164 for comparison.

"+7 916 000-00-01", "8 (916) 000 00 01" and "89160000001" are one number in
a Russian sheet; "(212) 555-0100" is a New York number in an American one.
Numbers written without a country code can only be read with a default
region, which comes from the sheet's locale (``ru_RU`` → ``RU``); without a
locale only numbers written with ``+`` are understood.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["region_for_locale", "normalise_phones", "PhoneCheck", "check_phone"]


def region_for_locale(locale: str | None) -> str | None:
    """``ru_RU`` → ``RU``, ``en_US`` → ``US``; None when the locale names no known region."""
    if not locale:
        return None
    parts = locale.replace("-", "_").split("_")
    if len(parts) < 2:
        return None
    region = parts[-1].upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def _parse_one(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phones(text: str, region: str | None) -> list[str]:
    """Every phone number in a cell, as E.164 strings (empty if none is readable).

    A cell may hold one number in any common spelling, or several separated by
    commas/semicolons/"or"; each one found is returned, in order, once.
    """
    text = (text or "").strip()
    if not text:
        return []
    whole = _parse_one(text, region)
    if whole is not None:
        return [whole]
    found: list[str] = []
    try:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in found:
                found.append(e164)
    except Exception:  # the matcher is best effort on odd text; a miss is just "not readable"
        return found
    return found


class PhoneCheck:
    """What can honestly be said about one phone cell."""

    OK = "ok"
    UNREADABLE = "unreadable"  # cannot be a phone number in any region we may assume
    UNKNOWN = "unknown"  # no country code and no region to read it with

    def __init__(self, status: str, numbers: list[str]) -> None:
        self.status = status
        self.numbers = numbers


def check_phone(text: str, region: str | None) -> PhoneCheck:
    numbers = normalise_phones(text, region)
    if numbers:
        return PhoneCheck(PhoneCheck.OK, numbers)
    stripped = (text or "").strip()
    if region is None and not stripped.startswith("+"):
        return PhoneCheck(PhoneCheck.UNKNOWN, [])
    return PhoneCheck(PhoneCheck.UNREADABLE, [])
