"""Text normalisation shared by header, status, stage and project matching."""

from __future__ import annotations

import re

__all__ = ["normalise", "KEY_SPACES"]

KEY_SPACES = re.compile(r"\s+")


def normalise(value: object) -> str:
    """Fold a header/status/name for matching: case, spaces, ё/е, nbsp.

    People type "  Проведён ", "DONE", "Last  contact"; all must match.
    """
    if value is None:
        return ""
    text = str(value).replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е")
    return KEY_SPACES.sub(" ", text).strip().casefold()
