"""Who may open what: roles by audience, read from the dashboard's secrets file.

The dashboard signs people in with Streamlit's OpenID Connect support (``[auth]`` in the
secrets file); this module decides, from the signed-in identity's claims, which roles they
hold and which pages those roles open. It knows nothing of Streamlit: the glue is
:mod:`dashboard.auth`.

Configuration, in the same TOML file as ``[auth]``::

    [brandlens]
    roles_claim = "groups"          # optional: roles also from this ID-token claim

    [brandlens.roles]
    executive = ["ceo@example.com"]
    marketing = ["*@marketing.example.com", "ana@example.com"]
    ml_lead = ["lee@example.com"]
    admin = ["ops@example.com"]

An entry is an e-mail address (compared without regard to case) or ``*@domain``, which
matches every address of exactly that domain (not its subdomains). An address the
provider marks ``email_verified = false`` matches nothing, and so does a claim that is not
exactly one plain address: surrounding or inner white space, control or invisible
characters (``admin@example.com\n``, a zero-width space, a right-to-left override), and —
unless ``allow_unicode_emails = true`` in ``[brandlens]`` — any non-ASCII character, since
look-alikes such as the Kelvin sign ``\u212a`` would otherwise fold into ``k`` and match
``kate@example.com``. Even when allowed, characters that Unicode folds into others (NFKC)
never match. With ``roles_claim``, the
claim's values that name a role (a list, or one string of names separated by spaces or
commas) are roles too. Someone who holds no role sees a page asking them to ask an admin.

What each role opens (:data:`ROLE_PAGES`): executives the Overview and its report;
marketing the Overview and the brand pages, the post explorer and labelling; ML leads the
Overview and the model pages; admins every page, the Data page included.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.core.errors import BrandLensError

ROLES: tuple[str, ...] = ("executive", "marketing", "ml_lead", "admin")
"""Every role, from the narrowest audience to the widest."""

ADMIN = "admin"
"""The role that opens every page, present and future."""

ROLE_PAGES: Mapping[str, frozenset[str]] = {
    "executive": frozenset({"overview.py"}),
    "marketing": frozenset({"overview.py", "brand_monitor.py", "topics.py", "alerts.py", "post_explorer.py",
                            "labelling.py"}),
    "ml_lead": frozenset({"overview.py", "model_evaluation.py", "fairness.py", "explanations.py", "models.py"}),
}
"""Page files (``pages/<file>``) each role other than admin may open; admin opens them all.

A page not listed here is for admins only, so a new page stays closed until it is given
to an audience.
"""

AUTH_KEYS: tuple[str, ...] = ("client_id", "client_secret", "server_metadata_url")
"""The settings of an OpenID Connect provider, in ``[auth]`` or in an ``[auth.<name>]`` table."""

AUTH_REQUIRED_ENV = "BRANDLENS_AUTH_REQUIRED"
"""Set to ``1`` by ``brandlens dashboard --secrets``: without a readable ``[auth]`` nobody gets in."""

MIN_COOKIE_SECRET = 32
"""Characters a ``cookie_secret`` needs at least: it signs the identity cookie."""

_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class AccessConfigError(BrandLensError, ValueError):
    """The sign-in or role configuration is wrong; the message names the setting."""


def _clean_email(value: object, *, allow_unicode: bool = False) -> str | None:
    r"""The address a claim names, lower-cased for comparison, or ``None`` when it is not exactly one plain address.

    Validated first, normalised after: nothing is stripped or folded into a match.

    Examples
    --------
    >>> _clean_email("Kate@Example.com"), _clean_email("\u212aate@example.com"), _clean_email("admin@example.com\n")
    ('kate@example.com', None, None)
    >>> _clean_email("ana@ex\u00e4mple.com"), _clean_email("ana@ex\u00e4mple.com", allow_unicode=True)
    (None, 'ana@exämple.com')
    """
    if not isinstance(value, str) or not _ADDRESS.match(value):
        return None
    if any(unicodedata.category(ch)[0] in "CZ" for ch in value):  # control, format (invisible, bidi), spaces
        return None
    if not value.isascii() and (not allow_unicode or unicodedata.normalize("NFKC", value) != value):
        return None
    return value.lower()


def matches(pattern: str, email: str, *, allow_unicode: bool = False) -> bool:
    """Whether ``email`` is the address ``pattern`` or an address of the ``*@domain`` it names.

    Examples
    --------
    >>> matches("*@example.com", "Ana@Example.com"), matches("*@example.com", "ana@sub.example.com")
    (True, False)
    >>> matches("ana@example.com", "ANA@example.com"), matches("ana@example.com", "bob@example.com")
    (True, False)
    """
    address = _clean_email(email, allow_unicode=allow_unicode)
    if address is None:
        return False
    pattern = pattern.strip().lower()
    if pattern.startswith("*@"):
        return address.rsplit("@", 1)[1] == pattern[2:]
    return address == pattern


def _check_pattern(role: str, entry: object) -> str:
    where = f"[brandlens.roles] {role}"
    if not isinstance(entry, str) or not entry.strip():
        raise AccessConfigError(f"{where}: every entry must be an e-mail address or '*@domain', got {entry!r}")
    text = entry.strip().lower()
    if text.startswith("*@"):
        if not _DOMAIN.match(text[2:]):
            raise AccessConfigError(f"{where}: {entry!r} must be '*@' followed by a domain such as example.com")
        return text
    if "*" in text or not _ADDRESS.match(text):
        raise AccessConfigError(f"{where}: {entry!r} is neither an e-mail address nor '*@domain'")
    return text


@dataclass(frozen=True)
class AccessConfig:
    """Roles by e-mail pattern and, optionally, the ID-token claim that carries role names.

    Build it with :meth:`from_secrets`; :meth:`roles_of` answers for one identity.
    """

    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    roles_claim: str | None = None
    allow_unicode_emails: bool = False

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, Any]) -> AccessConfig:
        """Read ``[brandlens]`` (``roles_claim``) and ``[brandlens.roles]`` of the secrets file.

        Raises :class:`AccessConfigError` naming the setting for an unknown role, an unknown
        key or an entry that is neither an address nor ``*@domain``.

        Examples
        --------
        >>> config = AccessConfig.from_secrets({"brandlens": {"roles": {"admin": ["*@example.com"]}}})
        >>> sorted(config.roles_of({"email": "ops@example.com"}))
        ['admin']
        """
        section = secrets.get("brandlens") or {}
        if not isinstance(section, Mapping):
            raise AccessConfigError("[brandlens] must be a table")
        unknown = sorted(set(section) - {"roles", "roles_claim", "allow_unicode_emails"})
        if unknown:
            raise AccessConfigError(f"[brandlens]: unknown setting {unknown[0]!r} "
                                    "(known: roles, roles_claim, allow_unicode_emails)")
        allow_unicode = section.get("allow_unicode_emails", False)
        if not isinstance(allow_unicode, bool):
            raise AccessConfigError(f"[brandlens] allow_unicode_emails must be true or false, got {allow_unicode!r}")
        claim = section.get("roles_claim")
        if claim is not None and (not isinstance(claim, str) or not claim.strip()):
            raise AccessConfigError(f"[brandlens] roles_claim must be the name of an ID-token claim, got {claim!r}")
        table = section.get("roles") or {}
        if not isinstance(table, Mapping):
            raise AccessConfigError("[brandlens.roles] must be a table of role = [addresses]")
        roles: dict[str, tuple[str, ...]] = {}
        for role, entries in table.items():
            if role not in ROLES:
                raise AccessConfigError(f"[brandlens.roles]: unknown role {role!r} (roles: {', '.join(ROLES)})")
            if isinstance(entries, str):
                entries = [entries]
            if not isinstance(entries, Sequence):
                raise AccessConfigError(f"[brandlens.roles] {role} must be a list of e-mail addresses or '*@domain'")
            roles[role] = tuple(_check_pattern(role, e) for e in entries)
        return cls(roles=roles, roles_claim=claim.strip() if claim else None, allow_unicode_emails=allow_unicode)

    def roles_of(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The roles of the identity whose ID-token ``claims`` are given (``email``, the roles claim).

        Examples
        --------
        >>> config = AccessConfig(roles={"marketing": ("*@example.com",)}, roles_claim="groups")
        >>> sorted(config.roles_of({"email": "ana@example.com", "groups": ["ml_lead", "staff"]}))
        ['marketing', 'ml_lead']
        >>> sorted(config.roles_of({"email": "ana@example.com", "email_verified": False}))
        []
        """
        found: set[str] = set()
        email = _clean_email(claims.get("email"), allow_unicode=self.allow_unicode_emails)
        if email is not None and claims.get("email_verified") is not False:
            found |= {role for role, patterns in self.roles.items()
                      if any(matches(p, email, allow_unicode=self.allow_unicode_emails) for p in patterns)}
        if self.roles_claim:
            found |= set(claim_values(claims.get(self.roles_claim))) & set(ROLES)
        return frozenset(found)


def claim_values(value: object) -> list[str]:
    """A claim's values as strings: a list as it is, a string split at spaces and commas.

    Examples
    --------
    >>> claim_values("admin, marketing"), claim_values(["ml_lead"]), claim_values(None)
    (['admin', 'marketing'], ['ml_lead'], [])
    """
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value) if v]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return [str(v) for v in value]
    return []


def may_open(roles: Iterable[str], page_file: str) -> bool:
    """Whether someone holding ``roles`` may open ``pages/<page_file>``.

    Examples
    --------
    >>> may_open({"executive"}, "overview.py"), may_open({"executive"}, "data.py"), may_open({"admin"}, "data.py")
    (True, False, True)
    """
    held = set(roles)
    return ADMIN in held or any(page_file in ROLE_PAGES.get(role, ()) for role in held)


def allowed_pages(roles: Iterable[str], page_files: Iterable[str]) -> list[str]:
    """The files of ``page_files`` that ``roles`` open, in the given order."""
    held = frozenset(roles)
    return [p for p in page_files if may_open(held, p)]


def auth_configured(secrets: Mapping[str, Any]) -> bool:
    """Whether the secrets hold an ``[auth]`` section, which turns sign-in on."""
    return bool(secrets.get("auth"))


def providers(auth: Mapping[str, Any]) -> list[str | None]:
    """The sign-in providers of an ``[auth]`` section: ``None`` for the unnamed one, else each ``[auth.<name>]``.

    Examples
    --------
    >>> providers({"client_id": "x", "client_secret": "y", "server_metadata_url": "http://p/.well-known"})
    [None]
    >>> providers({"okta": {"client_id": "x"}, "cookie_secret": "s"})
    ['okta']
    """
    named = [name for name, value in auth.items() if isinstance(value, Mapping) and name != "client_kwargs"]
    return ([None] if "client_id" in auth else []) + named


def check_auth_section(auth: Mapping[str, Any]) -> list[str | None]:
    """Check an ``[auth]`` section before the server starts; returns its providers.

    Streamlit needs ``redirect_uri`` (ending in ``/oauth2callback``) and ``cookie_secret``,
    and per provider ``client_id``, ``client_secret`` and an absolute ``server_metadata_url``.
    Raises :class:`AccessConfigError` naming the first missing or wrong setting.
    """
    redirect = auth.get("redirect_uri")
    if not isinstance(redirect, str) or not redirect.startswith(("http://", "https://")) \
            or not redirect.rstrip("/").endswith("/oauth2callback"):
        raise AccessConfigError("[auth] redirect_uri must be the dashboard's absolute URL ending in /oauth2callback, "
                                "e.g. http://localhost:8501/oauth2callback")
    secret = auth.get("cookie_secret")
    if not isinstance(secret, str) or len(secret) < MIN_COOKIE_SECRET:
        raise AccessConfigError(f"[auth] cookie_secret must be a random string of at least {MIN_COOKIE_SECRET} "
                                "characters (python -c 'import secrets; print(secrets.token_hex(32))')")
    found = providers(auth)
    if not found:
        raise AccessConfigError("[auth] names no provider: give client_id, client_secret and server_metadata_url "
                                "in [auth] or in an [auth.<name>] table")
    for name in found:
        table = auth if name is None else auth[name]
        where = "[auth]" if name is None else f"[auth.{name}]"
        for key in AUTH_KEYS:
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise AccessConfigError(f"{where} {key} is missing")
        if not table["server_metadata_url"].startswith(("http://", "https://")):
            raise AccessConfigError(f"{where} server_metadata_url must be an absolute http(s) URL")
        if name is not None and "_" in name:
            raise AccessConfigError(f"{where}: Streamlit does not allow '_' in a provider name")
    return found
