"""pytest fixtures for the stand-in, the way respx offers ``respx_mock``: ``fake_google`` and ``fake_google_factory``.

Registered through the ``pytest11`` entry point, so any test in a project that
installs google-standin can ask for them::

    def test_reads(fake_google): ...                          # the owner's own login

    @pytest.mark.fake_google(account="service", identity="bot@x.iam.gserviceaccount.com")
    def test_as_service_account(fake_google): ...

    @pytest.mark.parametrize("fake_google", ["user", "service"], indirect=True)
    def test_either_account(fake_google): ...                 # a param: account kind, or a dict of options

    def test_two_accounts(fake_google_factory):
        owner, bot = fake_google_factory(), fake_google_factory(account="service")

Options are :class:`~google_standin.FakeGoogle`'s keyword arguments; a
parameter overrides the marker, which overrides the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from google_standin.fake import FakeGoogle

__all__ = ["fake_google", "fake_google_factory"]

MARKER = "fake_google"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): FakeGoogle options for the fake_google fixture "
        "(account='user'|'service', identity=, quota_per_minute=, latency=, validate=, seed=...)",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The test's marker, then this fixture's indirect parameter (if any)."""
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            options["account"] = marker.args[0]
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, str):
        options["account"] = param
    elif isinstance(param, dict):
        options.update(param)
    elif param is not None:
        raise TypeError(f"fake_google parameter must be an account kind or a dict of options, not {param!r}")
    return options


@pytest.fixture
def fake_google_factory(request: pytest.FixtureRequest) -> Callable[..., FakeGoogle]:
    """Make stand-ins: ``fake_google_factory(account="service")``; the test's marker gives the defaults."""
    marker = request.node.get_closest_marker(MARKER)
    defaults: dict[str, Any] = {}
    if marker is not None:
        defaults = {**({"account": marker.args[0]} if marker.args else {}), **marker.kwargs}

    def make(**options: Any) -> FakeGoogle:
        return FakeGoogle(**{**defaults, **options})

    return make


@pytest.fixture
def fake_google(request: pytest.FixtureRequest, fake_google_factory: Callable[..., FakeGoogle]) -> FakeGoogle:
    """A fresh, empty stand-in of Sheets v4 and Drive v3 (options from the marker or an indirect parameter)."""
    return fake_google_factory(**_options(request))
