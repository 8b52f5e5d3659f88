"""The workspaces a dashboard serves: files it was given and the ``*.duckdb`` files of one folder.

``brandlens dashboard --workspace FILE`` and/or ``--workspaces DIR`` decide it once, at start
(through ``$BRANDLENS_WORKSPACE`` and ``$BRANDLENS_WORKSPACES``); a visitor picks among
those and nothing else. A path that is not one of them is refused with a message (there
is no free-text path: the server never opens, creates or locks a file a visitor names), and
a new workspace is only ever a plain name created inside the folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.core.errors import BrandLensError

SUFFIX = ".duckdb"
"""Workspace files in a served folder end with this."""

WORKSPACE_ENV = "BRANDLENS_WORKSPACE"
FOLDER_ENV = "BRANDLENS_WORKSPACES"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class WorkspaceRefused(BrandLensError, ValueError):
    """A workspace outside what the dashboard serves, or a name that cannot be one."""


@dataclass(frozen=True)
class Catalog:
    """The served workspaces: explicit ``files`` and every ``*.duckdb`` of ``folder``."""

    files: tuple[Path, ...] = ()
    folder: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Catalog:
        """The catalog ``brandlens dashboard`` handed over in ``$BRANDLENS_WORKSPACE``/``$BRANDLENS_WORKSPACES``.

        With neither set, the one default workspace (:func:`analytics.store.resolve_workspace`).
        """
        from analytics.store import resolve_workspace

        env = os.environ if environ is None else environ
        folder = Path(env[FOLDER_ENV]).expanduser().resolve() if env.get(FOLDER_ENV) else None
        files: tuple[Path, ...] = ()
        if env.get(WORKSPACE_ENV):
            files = (Path(env[WORKSPACE_ENV]).expanduser().resolve(),)
        elif folder is None:
            files = (resolve_workspace(None).resolve(),)
        return cls(files=files, folder=folder)

    def available(self) -> list[Path]:
        """Every served workspace: the given files first, then the folder's by name."""
        found = list(self.files)
        if self.folder is not None and self.folder.is_dir():
            found += sorted(p.resolve() for p in self.folder.glob(f"*{SUFFIX}") if p.is_file())
        return list(dict.fromkeys(found))

    def resolve(self, choice: str | os.PathLike[str]) -> Path:
        """The served workspace ``choice`` names; :class:`WorkspaceRefused` for anything else.

        Examples
        --------
        >>> Catalog(files=(Path("/srv/a.duckdb"),)).resolve("/tmp/../etc/passwd")
        Traceback (most recent call last):
        ...
        analytics.store.catalog.WorkspaceRefused: /etc/passwd is not a workspace this dashboard serves
        """
        path = Path(choice).expanduser().resolve()
        if path not in self.available():
            raise WorkspaceRefused(f"{path} is not a workspace this dashboard serves")
        return path

    def new_path(self, name: str) -> Path:
        """Where a new workspace called ``name`` goes: ``<folder>/<name>.duckdb``, checked.

        ``name`` is a plain name (letters, digits, ``-``, ``_``; at most 64), never a path.

        Examples
        --------
        >>> Catalog(folder=Path("/srv/ws")).new_path("spring-campaign")
        PosixPath('/srv/ws/spring-campaign.duckdb')
        >>> Catalog(folder=Path("/srv/ws")).new_path("../etc/x")
        Traceback (most recent call last):
        ...
        analytics.store.catalog.WorkspaceRefused: a workspace name is letters, digits, '-' and '_' (at most 64), not '../etc/x'
        """
        if self.folder is None:
            raise WorkspaceRefused("this dashboard serves no workspace folder (start it with --workspaces DIR)")
        stem = name.strip()
        if stem.endswith(SUFFIX):
            stem = stem[: -len(SUFFIX)]
        if not _NAME.match(stem):
            raise WorkspaceRefused(f"a workspace name is letters, digits, '-' and '_' (at most 64), not {name!r}")
        path = self.folder / f"{stem}{SUFFIX}"
        if path.exists():
            raise WorkspaceRefused(f"a workspace named {stem} exists already")
        return path


def label(path: str | os.PathLike[str]) -> str:
    """How a workspace is named on a page: its file name (the server's folders stay out of sight)."""
    return Path(path).name


def open_problem(path: str | os.PathLike[str], exc: BaseException) -> str:
    """One line that says why the workspace at ``path`` cannot be opened, naming it by :func:`label`."""
    text = str(exc)
    name = label(path)
    if "not a valid DuckDB database file" in text:
        return f"{name} is not a DuckDB database file; pick another workspace"
    if "Could not set lock" in text or "different configuration" in text:
        return f"{name} is in use by another process; try again when it has finished"
    if isinstance(exc, (PermissionError, duckdb.PermissionException)) or "Permission denied" in text:
        return f"{name} cannot be read by the dashboard (permission denied)"
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"{name} cannot be opened: {first.replace(str(Path(path)), name)}"
