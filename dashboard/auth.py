"""Sign-in and roles at the page edge: Streamlit's ``st.login``/``st.user`` and :mod:`analytics.access`.

Sign-in is on when Streamlit's secrets file has an ``[auth]`` section (``brandlens dashboard
--secrets FILE``); the roles are read from ``[brandlens.roles]`` of the same file. Without
``[auth]`` the dashboard is in the open local mode of the demo: every page, changes recorded
as ``"local"``, and a note in the sidebar says that sign-in is off. When the command was
started with ``--secrets`` but the file cannot be read (``$BRANDLENS_AUTH_REQUIRED``), nobody
gets in: a broken configuration never falls back to the open mode.

:func:`current_access` answers once per run; the app shell (:mod:`dashboard.app`) draws the
sign-in page, the "ask an admin" page or the "not allowed" message instead of a page the
visitor may not open, so none of its data is ever read for them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import streamlit as st

from analytics import access
from analytics.core.escape import markdown_text
from analytics.store.audit import LOCAL_ACTOR


@dataclass(frozen=True)
class Access:
    """Who is looking, and what they may open, for one run of the app."""

    sign_in: bool
    """Whether sign-in is on (``[auth]`` configured)."""
    signed_in: bool = False
    email: str | None = None
    name: str | None = None
    subject: str | None = None
    roles: frozenset[str] = frozenset()
    providers: tuple[str | None, ...] = (None,)
    problem: str | None = None
    """A configuration error: nobody gets in while it stands."""
    claims: dict = field(default_factory=dict, repr=False)

    @property
    def open_mode(self) -> bool:
        """No sign-in: the local demo mode, where the one local user may do everything."""
        return not self.sign_in and self.problem is None

    @property
    def admitted(self) -> bool:
        """Whether the workspace may be shown at all (open mode, or signed in with a role)."""
        return self.open_mode or (self.signed_in and bool(self.roles) and self.problem is None)

    @property
    def is_admin(self) -> bool:
        return self.open_mode or (self.admitted and access.ADMIN in self.roles)

    @property
    def actor(self) -> str:
        """The name changes are recorded under: the signed-in e-mail (or subject), ``"local"`` in open mode."""
        if self.open_mode:
            return LOCAL_ACTOR
        return self.email or (f"sub:{self.subject}" if self.subject else "unknown")

    def may_open(self, page_file: str) -> bool:
        """Whether this visitor may open ``pages/<page_file>``."""
        return self.open_mode or (self.admitted and access.may_open(self.roles, page_file))


def _secrets() -> dict:
    """The secrets as a plain dict, ``{}`` when there is no readable secrets file (never an error box)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        return st.secrets.to_dict()
    except Exception:  # a broken file: treated as absent here, refused below when sign-in was required
        return {}


def current_access() -> Access:
    """Who is looking: open mode, signed out, or signed in with their roles (fails closed on bad config)."""
    secrets = _secrets()
    required = os.environ.get(access.AUTH_REQUIRED_ENV) == "1"
    if not access.auth_configured(secrets):
        if required:
            return Access(sign_in=True, problem="sign-in is required but the secrets file has no readable [auth] "
                                                "section; check the file given to --secrets")
        return Access(sign_in=False)
    try:
        providers = tuple(access.check_auth_section(secrets["auth"]))
        config = access.AccessConfig.from_secrets(secrets)
    except access.AccessConfigError as exc:
        return Access(sign_in=True, problem=str(exc))
    claims = {k: v for k, v in st.user.to_dict().items() if k != "tokens"}
    if not claims.get("is_logged_in"):
        return Access(sign_in=True, providers=providers)
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    return Access(sign_in=True, signed_in=True, email=email, name=claims.get("name") or None,
                  subject=str(claims.get("sub")) if claims.get("sub") is not None else None,
                  roles=config.roles_of(claims), providers=providers, claims=claims)


def actor() -> str:
    """Who the change being made now is recorded under (see :attr:`Access.actor`)."""
    return current_access().actor


def may_open(page_file: str) -> bool:
    """Whether the current visitor may open ``pages/<page_file>`` (buttons that lead there check this)."""
    return current_access().may_open(page_file)


def sign_in_page(who: Access) -> None:
    """What a signed-out visitor sees: a title, one sentence, a sign-in button per provider; no data."""
    st.title("Sign in to BrandLens")
    if who.problem:
        st.error(f"Sign-in is misconfigured, so nobody can sign in: {markdown_text(who.problem)}. "
                 "An administrator must fix the secrets file.")
        return
    st.write("This dashboard shows your organisation's brand monitoring. Sign in with your work account.")
    for provider in who.providers:
        label = "Sign in" if provider is None else f"Sign in with {markdown_text(provider)}"
        if st.button(label, type="primary", key=f"sign_in_{provider or 'default'}"):
            st.login() if provider is None else st.login(provider)


def no_role_page(who: Access) -> None:
    """Signed in, but no role: say so and who to ask; nothing of the workspace."""
    st.title("Ask an admin for access")
    st.write(f"You are signed in as {markdown_text(who.email or who.subject or 'an unknown account')}, "
             "but no BrandLens role has been given to this account yet.")
    st.write("Ask an admin to add your address to executive, marketing, ml\\_lead or admin under "
             "\\[brandlens.roles\\] in the dashboard's secrets file, then reload this page.")
    sign_out_button(key="sign_out_no_role")


def not_allowed_page(title: str) -> None:
    """A page the visitor's role does not open: its title and a refusal, none of its data."""
    st.title(title)
    st.warning("Your role does not open this page. The pages you may open are listed in the sidebar; "
               "ask an admin if you need this one.", icon=":material/block:")


def sign_out_button(*, key: str) -> None:
    if st.button("Sign out", key=key, icon=":material/logout:"):
        st.logout()


def account_box(who: Access) -> None:
    """The sidebar's first lines: who is signed in with which roles and a sign-out button, or the open-mode note."""
    with st.sidebar:
        if who.open_mode:
            st.info("Sign-in is off: anyone who can reach this address sees and changes everything. "
                    "Serve it with `brandlens dashboard --secrets FILE` to require sign-in.",
                    icon=":material/lock_open:")
            return
        roles = ", ".join(r for r in access.ROLES if r in who.roles) or "no role"
        name = " ".join((who.email or who.subject or "?").split())  # no padding or line break inside the bold
        st.caption(f"Signed in as **{markdown_text(name)}** · {markdown_text(roles)}")
        sign_out_button(key="sign_out")
