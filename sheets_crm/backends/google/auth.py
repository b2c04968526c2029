"""Finding and loading Google credentials, the way gspread users already do.

Where we look, in order (the first that exists wins):

1. ``--credentials PATH`` (a service-account key, a saved OAuth login, or an
   OAuth client file);
2. ``$GOOGLE_APPLICATION_CREDENTIALS``;
3. gspread's default service-account key, ``~/.config/gspread/service_account.json``;
4. gspread's saved OAuth login, ``~/.config/gspread/authorized_user.json``;
5. gspread's OAuth client file, ``~/.config/gspread/credentials.json``: only when
   a browser login is allowed (``allow_login=True``), since an unattended
   morning sync must never sit waiting for a browser.

Every problem (nothing found, unreadable, not JSON, not a key, the placeholder
``credentials.example.json``) is an :class:`~sheets_crm.errors.AuthError` that
says where we looked and points at the README.

A login on a machine without a browser (a server reached over SSH) does not try to open
one (gspread's default flow dies there with "could not locate runnable browser"): it
listens on a fixed local port (8085, or ``$SHEETS_CRM_OAUTH_PORT``) and logs the address
to open and the ``ssh -L`` tunnel that carries Google's answer back from the person's
own computer (google-auth-oauthlib's ``run_local_server(open_browser=False)``; Google
retired the copy-the-code "out of band" flow in 2022).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gspread import auth as gauth

from sheets_crm.backends.google.http import SETUP_DOC, CrmHTTPClient
from sheets_crm.errors import AuthError

__all__ = [
    "GoogleAccount",
    "SCOPES",
    "default_paths",
    "load_account",
    "oauth_login",
    "make_client",
    "browser_available",
    "headless_flow",
    "OAUTH_PORT",
]

log = logging.getLogger(__name__)

#: The port a headless login listens on (fixed, so the ssh -L command can be given in advance).
OAUTH_PORT = 8085
#: How long a headless login waits for the browser's answer.
_LOGIN_WAIT_SECONDS = 600

#: Read/write Sheets and Drive (Drive is needed to create and share files).
SCOPES = list(gauth.DEFAULT_SCOPES)


@dataclass
class GoogleAccount:
    """Who we act as: credentials plus what messages need to know."""

    kind: str  # "service_account" or "user"
    credentials: Any = field(repr=False)
    email: str | None = None
    path: Path | None = None
    project_id: str | None = None

    @property
    def is_service_account(self) -> bool:
        return self.kind == "service_account"


def default_paths() -> dict[str, Path]:
    """gspread's default locations (``%APPDATA%\\gspread`` on Windows)."""
    base = gauth.get_config_dir()
    return {
        "service_account": base / "service_account.json",
        "authorized_user": base / "authorized_user.json",
        "client_secrets": base / "credentials.json",
    }


def _read_json(path: Path, source: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthError(f"Credentials file {path} ({source}) does not exist. See {SETUP_DOC}.") from None
    except IsADirectoryError:
        raise AuthError(
            f"Credentials path {path} ({source}) is a folder, not a JSON key file. See {SETUP_DOC}."
        ) from None
    except (PermissionError, OSError, UnicodeDecodeError) as exc:
        raise AuthError(
            f"Cannot read the credentials file {path} ({source}): "
            f"{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}. "
            f"See {SETUP_DOC}."
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuthError(
            f"{path} ({source}) is not valid JSON (line {exc.lineno}: {exc.msg}). It should be the key file "
            f"you downloaded from the Google Cloud console, unchanged. See {SETUP_DOC}."
        ) from None
    if not isinstance(data, dict):
        raise AuthError(f"{path} ({source}) is JSON but not a Google credentials file. See {SETUP_DOC}.")
    return data


def _looks_placeholder(info: Mapping[str, Any]) -> bool:
    text = json.dumps(info).lower()
    return "your-project-id" in text or "not-a-real-key" in text or "replace-me" in text


def _from_info(
    data: dict[str, Any], path: Path, source: str, scopes: list[str], allow_login: bool, flow: Callable[..., Any] | None
) -> GoogleAccount:
    kind = data.get("type")
    if kind == "service_account":
        missing = [k for k in ("client_email", "private_key", "token_uri") if not data.get(k)]
        if missing:
            raise AuthError(
                f"{path} ({source}) is a service-account file without {', '.join(missing)}: "
                f"download a fresh JSON key. See {SETUP_DOC}."
            )
        if _looks_placeholder(data):
            raise AuthError(
                f"{path} ({source}) is the placeholder credentials.example.json, not a real key. Create a "
                f"service account key in the Google Cloud console and point --credentials at it. See {SETUP_DOC}."
            )
        from google.oauth2 import service_account

        try:
            creds = service_account.Credentials.from_service_account_info(data, scopes=scopes)  # type: ignore[no-untyped-call]
        except (ValueError, TypeError, KeyError):
            # Never quote google-auth's message: for a key that is not text it repeats the key itself.
            why = "not a readable PEM key" if isinstance(data.get("private_key"), str) else "not one piece of text"
            raise AuthError(
                f"The private key in {path} ({source}) cannot be used ({why}). "
                f"Download a new JSON key for {data.get('client_email')}. See {SETUP_DOC}."
            ) from None
        return GoogleAccount("service_account", creds, data.get("client_email"), path, data.get("project_id"))
    if kind == "authorized_user":
        from google.oauth2.credentials import Credentials as UserCredentials

        try:
            creds = UserCredentials.from_authorized_user_info(data, scopes)  # type: ignore[no-untyped-call]
        except (ValueError, KeyError) as exc:
            raise AuthError(
                f"{path} ({source}) is a saved login that cannot be used ({exc}). Delete it and log in again "
                f"(`sheets-crm init --google` opens the browser). See {SETUP_DOC}."
            ) from None
        return GoogleAccount("user", creds, data.get("account") or None, path, data.get("quota_project_id"))
    if "installed" in data or "web" in data:
        if not allow_login:
            raise AuthError(
                f"{path} ({source}) is an OAuth client file: it needs a one-time browser login, which an "
                "unattended run cannot do. Log in once interactively (`sheets-crm init --google ...`, which "
                f"saves the login in {default_paths()['authorized_user']}), or use a service-account key. "
                f"See {SETUP_DOC}."
            )
        return oauth_login(path, flow=flow, scopes=scopes)
    raise AuthError(
        f'{path} ({source}) is not a Google credentials file I know ("type" is {kind!r}; expected a '
        f"service-account key, a saved OAuth login, or an OAuth client file). See {SETUP_DOC}."
    )


def load_account(
    credentials: str | os.PathLike[str] | None = None,
    *,
    allow_login: bool = False,
    env: Mapping[str, str] | None = None,
    scopes: list[str] | None = None,
    flow: Callable[..., Any] | None = None,
) -> GoogleAccount:
    """Find and load credentials (see the module doc for the search order)."""
    env = os.environ if env is None else env
    scopes = scopes or SCOPES
    defaults = default_paths()
    looked: list[str] = []
    if credentials:
        path = Path(credentials).expanduser()
        return _from_info(_read_json(path, "--credentials"), path, "--credentials", scopes, allow_login, flow)
    looked.append("--credentials (not given)")
    from_env = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if from_env:
        path = Path(from_env).expanduser()
        source = "$GOOGLE_APPLICATION_CREDENTIALS"
        return _from_info(_read_json(path, source), path, source, scopes, allow_login, flow)
    looked.append("$GOOGLE_APPLICATION_CREDENTIALS (not set)")
    for key, source in (
        ("service_account", "gspread's default service-account location"),
        ("authorized_user", "gspread's saved OAuth login"),
    ):
        path = defaults[key]
        if path.is_file():
            return _from_info(_read_json(path, source), path, source, scopes, allow_login, flow)
        looked.append(f"{path} (missing)")
    secrets = defaults["client_secrets"]
    if allow_login and secrets.is_file():
        return oauth_login(secrets, flow=flow, scopes=scopes)
    looked.append(f"{secrets} ({'missing' if not secrets.is_file() else 'OAuth client: needs an interactive login'})")
    raise AuthError(
        "No Google credentials found. Looked at: " + "; ".join(looked) + ". "
        "Create a service-account key and pass it with --credentials PATH (or set "
        "GOOGLE_APPLICATION_CREDENTIALS), or log in with your own Google account via an OAuth client file. "
        f"See {SETUP_DOC}."
    )


def oauth_login(
    client_secrets: str | os.PathLike[str] | None = None,
    *,
    authorized_user: str | os.PathLike[str] | None = None,
    flow: Callable[..., Any] | None = None,
    scopes: list[str] | None = None,
) -> GoogleAccount:
    """The owner's desktop login through gspread's :func:`gspread.oauth`.

    Reuses the saved login (``authorized_user.json``) when there is one;
    otherwise opens the browser (``flow``: gspread's local-server flow by
    default) and saves the login for next time.
    """
    defaults = default_paths()
    secrets = Path(client_secrets).expanduser() if client_secrets else defaults["client_secrets"]
    saved = Path(authorized_user).expanduser() if authorized_user else defaults["authorized_user"]
    if not saved.exists() and not secrets.is_file():
        raise AuthError(
            f'To log in with your Google account, download an OAuth client ID (type "Desktop app") from the '
            f"Google Cloud console and save it as {secrets} (or pass it with --credentials). See {SETUP_DOC}."
        )
    kwargs: dict[str, Any] = {
        "scopes": scopes or SCOPES,
        "credentials_filename": secrets,
        "authorized_user_filename": saved,
    }
    if flow is not None:
        kwargs["flow"] = flow
    elif not saved.exists() and not browser_available():
        kwargs["flow"] = headless_flow
    try:
        client = gauth.oauth(**kwargs)
    except AuthError:
        raise
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise AuthError(f"The OAuth login failed: {exc}. See {SETUP_DOC}.") from None
    except Exception as exc:  # the browser flow: access denied, closed window...
        raise AuthError(
            f"The Google login did not complete ({type(exc).__name__}: {exc}). "
            f"Run the command again and approve access in the browser. See {SETUP_DOC}."
        ) from None
    creds = client.http_client.auth
    return GoogleAccount("user", creds, None, saved)


def browser_available(env: Mapping[str, str] | None = None) -> bool:
    """Whether a login can open a browser here: not on a Linux/BSD machine without a display (a server
    over SSH, where only text browsers such as w3m could start, and Google's sign-in needs a real one)."""
    env = os.environ if env is None else env
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not (
        env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def headless_flow(client_config: Mapping[str, Any], scopes: list[str], port: int | None = None) -> Any:
    """gspread's ``flow`` for a machine without a browser: wait on ``localhost:PORT`` for Google's answer,
    having logged the address to open and the SSH tunnel that brings the answer here."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    port = port or int(os.environ.get("SHEETS_CRM_OAUTH_PORT") or OAUTH_PORT)
    flow = InstalledAppFlow.from_client_config(client_config, scopes)
    flow.redirect_uri = f"http://localhost:{port}/"
    url, state = flow.authorization_url()  # run_local_server makes the same address with this state
    log.warning(
        "No web browser here, so the Google login goes through your own computer. 1) On it, open a tunnel to "
        "this machine: ssh -L %d:localhost:%d YOU@THIS-MACHINE  2) In its browser, open the address below and "
        "approve access; Google sends the answer to localhost:%d, which the tunnel brings here. Waiting up to "
        "%d minutes (Ctrl-C stops). No SSH to this machine? Use a service-account key instead (no login at "
        "all): see %s.\n%s",
        port,
        port,
        port,
        _LOGIN_WAIT_SECONDS // 60,
        SETUP_DOC,
        url,
    )
    return flow.run_local_server(
        host="localhost",
        port=port,
        open_browser=False,
        authorization_prompt_message="",  # said above, through the log (the library never prints)
        timeout_seconds=_LOGIN_WAIT_SECONDS,
        state=state,
    )


def make_client(
    credentials: str | os.PathLike[str] | None = None,
    *,
    allow_login: bool = False,
    account: GoogleAccount | None = None,
    **http_options: Any,
) -> CrmHTTPClient:
    """A ready :class:`CrmHTTPClient` for the account found by :func:`load_account`."""
    account = account or load_account(credentials, allow_login=allow_login)
    return CrmHTTPClient(account.credentials, account_email=account.email, account_kind=account.kind, **http_options)
