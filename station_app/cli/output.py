"""How the CLI talks: Chinese text for people, JSON for scripts, bilingual errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from station_app.errors import StationError

EXIT_ERROR = 1
EXIT_VERIFY_FAILED = 3


@dataclass
class Output:
    json: bool = False

    def emit(self, data: Any, text: Callable[[], str] | str) -> None:
        """Print ``data`` as JSON, or the human text (computed only when needed)."""
        if self.json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            click.echo(text() if callable(text) else text)

    def fail(self, error: StationError) -> None:
        if self.json:
            click.echo(json.dumps({"ok": False, "error": error.as_dict()}, ensure_ascii=False,
                                  indent=2))
        click.echo(f"错误 [{error.code}]：{error.text}", err=True)
        click.echo(f"Error: {error.text_en}", err=True)
        sys.exit(EXIT_ERROR)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain text table that lines up Chinese text (CJK characters are two columns wide)."""
    grid = [headers, *rows]
    widths = [max(_width(r[i]) for r in grid) for i in range(len(headers))]
    return "\n".join("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(r)).rstrip()
                     for r in grid)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
