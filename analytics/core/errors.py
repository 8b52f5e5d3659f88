"""Errors a user can act on: they say what went wrong and where (file, row, column)."""

from __future__ import annotations


class BrandLensError(Exception):
    """An error caused by input or settings a user controls; shown as a message, never a traceback."""


class InputFileError(BrandLensError, ValueError):
    """A file that cannot be read as posts, with the place of the problem."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
