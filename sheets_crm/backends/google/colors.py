"""Colours as Google's API spells them ({red, green, blue} floats) and as sheets-crm does ('RRGGBB')."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["color_to_hex", "hex_to_color"]


def color_to_hex(color: dict[str, Any] | None) -> str | None:
    """Google's {red, green, blue} floats (missing channel = 0) → 'RRGGBB'."""
    if not color:
        return None if color is None else "000000"
    return "".join(f"{max(0, min(255, round(float(color.get(ch, 0)) * 255))):02X}" for ch in ("red", "green", "blue"))


def hex_to_color(value: str) -> dict[str, float]:
    """'RRGGBB' → Google's colour, zero channels omitted (Google omits them too).
    Five decimals keep the payload small; they are rounded *up* because Google
    stores a channel as 8 bits by truncating (x·255 floored), and a value a
    hair below level/255 would come back one step darker."""
    value = value.lstrip("#")
    out: dict[str, float] = {}
    for i, ch in enumerate(("red", "green", "blue")):
        level = int(value[2 * i : 2 * i + 2], 16)
        if level:
            out[ch] = 1 if level == 255 else math.ceil(level / 255 * 1e5 + 1e-6) / 1e5
    return out
