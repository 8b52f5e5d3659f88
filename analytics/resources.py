"""Where the files that BrandLens ships beside its code are found at run time.

The source tree keeps them in two top-level folders that are not Python code of the
library: ``data/`` (the default model's artifact and card, VADER's mapping, the demo
vocabulary, the page icon) and ``pages/`` (the dashboard's page scripts). The build maps
them into packages (``[tool.setuptools.package-dir]`` in ``pyproject.toml``):

* ``data/``  → :data:`DATA_PACKAGE` (``analytics._data``), every file as package data;
* ``pages/`` → :data:`PAGES_PACKAGE` (``dashboard.app_pages``; not ``dashboard/pages``,
  which Streamlit would take for its legacy pages folder beside ``dashboard/app.py``).

This module is the one place that turns those packages into paths, with
:mod:`importlib.resources`, so that the same code works however BrandLens runs:

* installed from the wheel (the folders sit inside the installed packages);
* the editable install (``make test``, ``make demo``): setuptools' import finder maps the
  two package names back to ``data/`` and ``pages/`` of the checkout;
* ``streamlit run dashboard/app.py`` from the source tree, with the editable install.

Never locate them relative to a module's ``__file__``: that only holds in the source tree
(``brandlens demo-data`` from a wheel died with ``FileNotFoundError`` that way).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Final

from analytics.core.errors import BrandLensError

DATA_PACKAGE: Final = "analytics._data"
"""The package that holds the files of ``data/``."""
PAGES_PACKAGE: Final = "dashboard.app_pages"
"""The package that holds the page scripts of ``pages/``."""
APP_PACKAGE: Final = "dashboard"
"""The package of the Streamlit entry script ``app.py``."""
PAGE_ICON: Final = "brandlens.svg"
"""The browser tab's icon, a file of ``data/`` (served by Streamlit itself, no outside host)."""


def _package_dir(package: str) -> Path:
    """The folder on disk of ``package``, or a :class:`BrandLensError` saying why there is none."""
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise BrandLensError(
            f"BrandLens' shipped files (package {package!r}) cannot be imported: install BrandLens "
            "(`make install` or `pip install -e .` in a checkout, or `pip install` the wheel) "
            "rather than putting the source tree on PYTHONPATH"
        ) from exc
    if not isinstance(root, Path):
        raise BrandLensError(
            f"BrandLens' shipped files (package {package!r}) are not plain files on disk ({root!r}); "
            "install BrandLens with pip so that its packages are unpacked"
        )
    return root


def data_path(*parts: str) -> Path:
    """Path of a file or folder shipped in ``data/``.

    The path is returned whether or not it exists, so that callers keep their own
    messages for an absent artifact (``brandlens train`` recreates the default model's).

    Examples
    --------
    >>> data_path("models", "vader", "mapping.json").is_file()
    True
    >>> data_path("demo", "vocabulary.json").parent.name
    'demo'
    """
    return _package_dir(DATA_PACKAGE).joinpath(*parts)


def pages_dir() -> Path:
    """The folder of the page scripts (``pages/`` of the source tree)."""
    return _package_dir(PAGES_PACKAGE)


def page_path(file: str) -> Path:
    """Path of the page script ``pages/<file>`` (what ``st.Page`` runs)."""
    return pages_dir() / file


def app_path() -> Path:
    """Path of the dashboard's entry script ``dashboard/app.py`` (what ``streamlit run`` runs)."""
    return _package_dir(APP_PACKAGE) / "app.py"


def page_icon_path() -> Path:
    """Path of the browser tab's icon, :data:`PAGE_ICON`."""
    return data_path(PAGE_ICON)
