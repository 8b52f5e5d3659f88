"""Files BrandLens ships beside its code (no code here): installed as the package ``analytics._data``.

A regular package so that :mod:`importlib.resources` finds the folder in every install mode,
the editable one included (setuptools' editable finder maps only packages with an
``__init__.py``). Locate the files with :mod:`analytics.resources`, never by path.
"""
