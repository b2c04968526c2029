"""A pytest fixture for the stand-in, the way respx offers one: ``fake_google``.

Registered through the ``pytest11`` entry point, so any test in a project
that installs google-standin can ask for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from google_standin.google_fake import FakeGoogle


@pytest.fixture
def fake_google() -> Iterator[FakeGoogle]:
    """A fresh, empty stand-in of Sheets v4 and Drive v3."""
    yield FakeGoogle()
