"""Who may open what (analytics.access), which workspaces are served (store.catalog), the audit trail,
private uploads, and ``brandlens dashboard``'s checks of --secrets and --workspaces."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from analytics import access, store
from analytics.access import AccessConfig, AccessConfigError
from analytics.cli import main as brandlens
from analytics.ingest.uploads import FOLDER_PREFIX, private_copy, upload_name, without_server_path
from analytics.store import audit
from analytics.store.catalog import Catalog, WorkspaceRefused, open_problem
from dashboard.navigation import PAGE_FILES

ROLES = {
    "executive": ["exec@example.com"],
    "marketing": ["*@marketing.example.com", "Ana@Example.com"],
    "ml_lead": ["lee@example.com"],
    "admin": ["ops@example.com"],
}
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s" * 40,
    "client_id": "brandlens",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration",
}


# ----------------------------------------------------------------------------- roles


def test_roles_come_from_addresses_and_exact_domains_without_regard_to_case() -> None:
    config = AccessConfig.from_secrets({"brandlens": {"roles": ROLES}})
    assert config.roles_of({"email": "EXEC@example.com"}) == {"executive"}
    assert config.roles_of({"email": "bob@marketing.example.com"}) == {"marketing"}
    assert config.roles_of({"email": "ana@example.com"}) == {"marketing"}
    assert config.roles_of({"email": "bob@evil-marketing.example.com"}) == set()
    assert config.roles_of({"email": "bob@sub.marketing.example.com"}) == set()  # not a subdomain
    assert config.roles_of({"email": "bob@marketing.example.com.evil.org"}) == set()
    assert config.roles_of({"email": "exec@example.com", "email_verified": False}) == set()
    assert config.roles_of({"sub": "exec@example.com"}) == set()  # the e-mail claim, never the subject
    assert config.roles_of({}) == set()


@pytest.mark.parametrize("claim", [
    "\u212aate@example.com",       # Kelvin sign: lower() folds it into "k"
    "admin@example.com\n", " admin@example.com", "admin@example.com\t",
    "admin\u200b@example.com",     # zero-width space
    "\u202eadmin@example.com",     # right-to-left override
    "admin@example.com\x00", "adm\u0131n@example.com",  # NUL; dotless i
    "\u0430dmin@example.com",      # Cyrillic a
    "admin\uff20example.com", "\uff41dmin@example.com",  # fullwidth @ and a
    "admin@example.com\u00a0",
])
def test_a_look_alike_or_padded_address_gets_no_role(claim: str) -> None:
    config = AccessConfig.from_secrets({"brandlens": {"roles": {"admin": ["admin@example.com"],
                                                                "marketing": ["kate@example.com", "*@example.com"]}}})
    assert config.roles_of({"email": claim}) == set(), repr(claim)
    assert config.roles_of({"email": "Admin@Example.com"}) == {"admin", "marketing"}  # case alone is no look-alike


def test_non_ascii_addresses_match_only_when_configured_and_never_through_folding() -> None:
    roles = {"marketing": ["j\u00fcrgen@example.com"], "admin": ["kate@example.com"]}
    strict = AccessConfig.from_secrets({"brandlens": {"roles": roles}})
    assert strict.roles_of({"email": "j\u00fcrgen@example.com"}) == set()
    relaxed = AccessConfig.from_secrets({"brandlens": {"roles": roles, "allow_unicode_emails": True}})
    assert relaxed.roles_of({"email": "J\u00fcrgen@example.com"}) == {"marketing"}
    assert relaxed.roles_of({"email": "\u212aate@example.com"}) == set()  # NFKC would fold it: still refused
    assert relaxed.roles_of({"email": "kate@example.com\r"}) == set()
    with pytest.raises(AccessConfigError, match="allow_unicode_emails"):
        AccessConfig.from_secrets({"brandlens": {"roles": roles, "allow_unicode_emails": "yes"}})


def test_roles_from_a_claim_add_to_those_by_address_and_ignore_unknown_names() -> None:
    config = AccessConfig.from_secrets({"brandlens": {"roles_claim": "groups", "roles": ROLES}})
    assert config.roles_of({"email": "lee@example.com", "groups": ["admin", "staff"]}) == {"admin", "ml_lead"}
    assert config.roles_of({"email": "x@y.org", "groups": "executive marketing"}) == {"executive", "marketing"}
    assert config.roles_of({"email": "x@y.org", "groups": ["superuser"]}) == set()
    assert AccessConfig.from_secrets({"brandlens": {"roles": ROLES}}).roles_of(
        {"email": "x@y.org", "groups": ["admin"]}) == set()  # no roles_claim: the claim is not read


@pytest.mark.parametrize("section, message", [
    ({"roles": {"owner": ["a@b.com"]}}, "unknown role 'owner'"),
    ({"roles": {"admin": ["*"]}}, "neither an e-mail address nor '*@domain'"),
    ({"roles": {"admin": ["*@*.com"]}}, "must be '*@' followed by a domain"),
    ({"roles": {"admin": ["a*@b.com"]}}, "neither an e-mail address"),
    ({"roles": {"admin": [3]}}, "every entry must be"),
    ({"roles_claim": ""}, "roles_claim must be the name of an ID-token claim"),
    ({"role": {}}, "unknown setting 'role'"),
])
def test_a_wrong_role_setting_is_named(section: dict, message: str) -> None:
    with pytest.raises(AccessConfigError, match=message.replace("*", r"\*").replace("(", r"\(")):
        AccessConfig.from_secrets({"brandlens": section})


def test_each_role_opens_its_audience_pages_and_admin_all() -> None:
    def opened(role: str) -> set[str]:
        return set(access.allowed_pages({role}, PAGE_FILES))

    assert opened("executive") == {"overview.py"}
    assert opened("marketing") == {"overview.py", "brand_monitor.py", "topics.py", "alerts.py", "post_explorer.py",
                                   "labelling.py"}
    assert opened("ml_lead") == {"overview.py", "model_evaluation.py", "fairness.py", "explanations.py", "models.py"}
    assert opened("admin") == set(PAGE_FILES)
    assert access.allowed_pages(set(), PAGE_FILES) == []
    assert set(access.allowed_pages({"executive", "ml_lead"}, PAGE_FILES)) == opened("ml_lead")
    assert "data.py" not in opened("marketing") | opened("ml_lead") | opened("executive")
    assert set().union(*access.ROLE_PAGES.values()) <= set(PAGE_FILES), "ROLE_PAGES names a page that does not exist"


@pytest.mark.parametrize("change, message", [
    ({"redirect_uri": "http://localhost:8501/"}, "redirect_uri must be"),
    ({"cookie_secret": "short"}, "cookie_secret must be a random string of at least 32"),
    ({"client_secret": ""}, r"\[auth\] client_secret is missing"),
    ({"server_metadata_url": "/.well-known"}, "server_metadata_url must be an absolute"),
])
def test_a_wrong_auth_section_is_named(change: dict, message: str) -> None:
    with pytest.raises(AccessConfigError, match=message):
        access.check_auth_section({**AUTH, **change})


def test_named_providers_are_found() -> None:
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
             "okta": {k: AUTH[k] for k in access.AUTH_KEYS}}
    assert access.check_auth_section(named) == ["okta"]
    assert access.check_auth_section(AUTH) == [None]
    with pytest.raises(AccessConfigError, match="names no provider"):
        access.check_auth_section({k: AUTH[k] for k in ("redirect_uri", "cookie_secret")})


# ----------------------------------------------------------------------------- served workspaces


def test_the_catalog_serves_its_file_and_folder_and_refuses_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    for name in ("b.duckdb", "a.duckdb", "notes.txt"):
        (folder / name).write_bytes(b"")
    single = tmp_path / "main.duckdb"
    single.write_bytes(b"")
    catalog = Catalog.from_environment({"BRANDLENS_WORKSPACE": str(single), "BRANDLENS_WORKSPACES": str(folder)})
    assert [p.name for p in catalog.available()] == ["main.duckdb", "a.duckdb", "b.duckdb"]
    assert catalog.resolve(folder / "sub" / ".." / "a.duckdb") == (folder / "a.duckdb").resolve()
    for outside in (tmp_path / "other.duckdb", folder / "notes.txt", folder / ".." / "main2.duckdb", "/etc/passwd"):
        with pytest.raises(WorkspaceRefused, match="is not a workspace this dashboard serves"):
            catalog.resolve(outside)
    assert catalog.new_path("spring") == folder.resolve() / "spring.duckdb"
    for bad in ("../x", "/tmp/x", "a/b", "", ".hidden", "x" * 65):
        with pytest.raises(WorkspaceRefused):
            catalog.new_path(bad)
    with pytest.raises(WorkspaceRefused, match="exists already"):
        catalog.new_path("a")
    assert not (tmp_path / "x.duckdb").exists()
    with pytest.raises(WorkspaceRefused, match="--workspaces DIR"):
        Catalog(files=(single,)).new_path("x")


def test_a_file_that_is_not_a_database_gets_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("hello, world\n")
    with pytest.raises(Exception) as caught:
        store.connect(path)
    assert open_problem(path, caught.value) == "notes.duckdb is not a DuckDB database file; pick another workspace"


# ----------------------------------------------------------------------------- audit


def test_audit_records_who_did_what_and_reads_it_back_newest_first(workspace: Path) -> None:
    with store.open_workspace(workspace) as con:
        audit.record(con, "ana@example.com", "label.correct", target="p1", detail={"label": "negative"})
        audit.record(con, "local", "privacy.masking", detail={"enabled": False})
        entries = audit.audit_entries(con)
        assert entries["action"].tolist() == ["privacy.masking", "label.correct"]
        assert entries["detail"].tolist() == [{"enabled": False}, {"label": "negative"}]
        assert entries["recorded_at"].notna().all()
        assert audit.audit_entries(con, actor="ana@example.com")["target"].tolist() == ["p1"]
        assert audit.audit_entries(con, action="nothing").empty
        with pytest.raises(ValueError, match="actor must be a non-empty string"):
            audit.record(con, " ", "x")


# ----------------------------------------------------------------------------- uploads


def test_an_upload_is_private_while_read_and_gone_after_even_on_failure(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(RuntimeError):
        with private_copy(b"a,b\n1,2\n", "../../evil/export.csv") as path:
            assert path.parent.parent == tmp_path and path.name == "export.csv"
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            raise RuntimeError("ingest failed")
    assert list(tmp_path.iterdir()) == []
    assert upload_name("C:\\Users\\ana\\export.csv") == "export.csv"
    assert without_server_path(f"file {path}: row 2", path) == "file export.csv: row 2"
    assert FOLDER_PREFIX in str(path)


# ----------------------------------------------------------------------------- brandlens dashboard


def _secrets_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("text, message", [
    ("[auth\n", "is not valid TOML"),
    ("[brandlens.roles]\nadmin = ['a@b.com']\n", "has no [auth] section"),
    ("[auth]\nredirect_uri = 'http://localhost:8501/oauth2callback'\ncookie_secret = 'x'\n",
     "cookie_secret must be a random string"),
    ("[auth]\n" + "".join(f"{k} = '{v}'\n" for k, v in AUTH.items()) + "[brandlens.roles]\nboss = ['a@b.com']\n",
     "unknown role 'boss'"),
])
def test_dashboard_checks_the_secrets_file_before_serving(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          text: str, message: str) -> None:
    workspace = tmp_path / "ws.duckdb"
    workspace.write_bytes(b"")
    secrets = _secrets_file(tmp_path, text)
    assert brandlens(["dashboard", "--workspace", str(workspace), "--secrets", str(secrets)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err, err


def test_dashboard_refuses_a_workspaces_folder_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert brandlens(["dashboard", "--workspaces", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
