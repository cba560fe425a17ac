"""Who decides or signs off: the identity a login provider vouches for, or a typed name.

When ``.streamlit/secrets.toml`` configures a login provider (an ``[auth]`` section), the
dashboard uses Streamlit's built-in OIDC login (``st.login``): deciding and signing off need
a login, and the record keeps the provider's name and account for the person (verified). A
typed name is accepted only without a provider, for a local single-user run, and is recorded
and shown as *unverified*.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from deid.consensus.store import Identity
from ui import state
from ui.text import md


def login_configured() -> bool:
    """True when a login provider is configured (Streamlit then says whether someone is
    logged in: ``st.user.is_logged_in``)."""
    return "is_logged_in" in st.user


def signed_in() -> Identity | None:
    """The logged-in person as the provider names them, or None."""
    user = st.user
    if not user.get("is_logged_in"):
        return None
    account = str(user.get("email") or user.get("sub") or "")
    name = str(user.get("name") or account).strip()
    issuer = str(user.get("iss") or "")
    subject = f"{account} ({issuer})" if account and issuer else account
    return Identity(name, verified=True, subject=subject) if name else None


def current(typed_key: str) -> Identity | None:
    """Who is acting now: the logged-in person when a provider is configured (None when
    nobody is logged in), else the name typed under ``typed_key`` (unverified)."""
    if login_configured():
        return signed_in()
    return Identity(str(st.session_state.get(typed_key) or "").strip(), verified=False)


def providers() -> list[str | None]:
    """The configured providers: ``None`` for ``[auth]`` itself, then each named
    ``[auth.<provider>]`` section."""
    try:
        section = st.secrets.get("auth", {})
    except Exception:  # noqa: BLE001 - no secrets file: the default provider
        return [None]
    named = [str(key) for key, value in section.items() if isinstance(value, Mapping)]
    return ([None] if "client_id" in section or not named else []) + named


def who(typed_key: str, label: str, *, where: object = None) -> Identity | None:
    """The identity widget: the logged-in person and a Log out button, a Log in button, or
    (no provider configured) a text input for the name, marked unverified. Returns who
    would be recorded (None while a login is needed)."""
    parent = st if where is None else where
    with parent.container():  # type: ignore[attr-defined]
        if not login_configured():
            st.text_input(label + " — recorded as unverified", key=typed_key,
                          persist_state="session",
                          help="No login provider is configured (a local, single-user run): "
                               "the name is recorded as typed and marked unverified. A "
                               "committee deployment configures one in "
                               ".streamlit/secrets.toml (see the README).")
            return current(typed_key)
        person = signed_in()
        if person is None:
            st.caption("Log in to decide or sign off: the record keeps the name your login "
                       "provider vouches for.")
            for provider in providers():
                title = "Log in" if provider is None else md("Log in with {p}", p=provider)
                if st.button(title, key=state.login_key(typed_key, provider)):
                    st.login(provider)
            return None
        st.caption(md("Signed in as **{name}** ({subject}), verified by the login provider.",
                      name=person.name, subject=person.subject or "no account given"))
        if st.button("Log out", key=state.logout_key(typed_key)):
            st.logout()
        return person
