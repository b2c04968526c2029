"""Text normalisation shared by header, status, stage and project matching."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["normalise", "KEY_SPACES", "TitleSet", "column_letter"]

KEY_SPACES = re.compile(r"\s+")


def normalise(value: object) -> str:
    """Fold a header/status/name for matching: case, spaces, ё/е, nbsp.

    People type "  Проведён ", "DONE", "Last  contact"; all must match.
    """
    if value is None:
        return ""
    text = str(value).replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е")
    return KEY_SPACES.sub(" ", text).strip().casefold()


class TitleSet(frozenset[str]):
    """A set of tab titles whose ``in`` ignores case, spaces and ё/е.

    Backends are told which tabs to read fills for before anyone has seen
    how the person spelled the tab names.
    """

    def __new__(cls, titles: Iterable[object] = ()) -> TitleSet:
        return super().__new__(cls, (normalise(t) for t in titles))

    def __contains__(self, title: object) -> bool:
        return super().__contains__(normalise(title))


def column_letter(col: int) -> str:
    """0-based column index → A1 letters (0 → A, 26 → AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
