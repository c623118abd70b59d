"""Generated parts of the README: the gallery table and the options tables.

They are made from the gallery TOML and the click commands themselves, so the
README cannot drift from the code: ``make readme`` rewrites the marked blocks
and a test checks that the committed README equals what this module makes.

Run as ``python -m convgif.docs README.md`` to rewrite the blocks in place.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from convgif.gallery import FigureEntry, load_gallery

_BLOCK = re.compile(
    r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end:(?P=name) -->)", re.DOTALL
)
GALLERY_COLUMNS = 3


def gallery_markdown(entries: Sequence[FigureEntry], folder: str = "gallery") -> str:
    """A Markdown table of the gallery's GIFs, three to a row, captions below."""
    usable = [e for e in entries if e.error is None]
    lines = []
    header = "| " + " | ".join(" " for _ in range(GALLERY_COLUMNS)) + " |"
    lines.append(header)
    lines.append("|" + "---|" * GALLERY_COLUMNS)
    for start in range(0, len(usable), GALLERY_COLUMNS):
        row = usable[start : start + GALLERY_COLUMNS]
        images = [f"![{e.name}]({folder}/{e.file_name})" for e in row]
        captions = [e.caption or e.name for e in row]
        pad = [" "] * (GALLERY_COLUMNS - len(row))
        lines.append("| " + " | ".join(images + pad) + " |")
        lines.append("| " + " | ".join(captions + pad) + " |")
    return "\n".join(lines) + "\n"


def options_markdown(command: click.Command) -> str:
    """A Markdown table of a command's options, from its click definition."""
    lines = ["| option | default | meaning |", "|---|---|---|"]
    context = click.Context(command, info_name=command.name, help_option_names=["-h", "--help"])
    for param in command.get_params(context):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        record = param.get_help_record(context)
        if record is None:
            continue
        names, help_text = record
        default = ""
        match = re.search(r"\s*\[default: ([^\]]*)\]$", help_text)
        if match:
            default = match.group(1)
            help_text = help_text[: match.start()]
        help_text = re.sub(r"\s*\[required\]$", "", help_text)
        cells = [f"`{names}`", f"`{default}`" if default else "", help_text]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def generated_blocks() -> dict[str, str]:
    """Every generated block of the README, by name."""
    from convgif.cli import cli

    blocks = {"gallery": gallery_markdown(load_gallery())}
    for name, command in cli.commands.items():
        blocks[f"options-{name}"] = options_markdown(command)
    return blocks


def fill(text: str, blocks: dict[str, str]) -> str:
    """Replace the body of every marked block in ``text`` with its generated body."""

    def body(match: re.Match[str]) -> str:
        name = match.group("name")
        new = blocks.get(name, match.group("body"))
        return match.group(1) + new + match.group(4)

    return _BLOCK.sub(body, text)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated blocks of the given README files."""
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [Path("README.md")]
    blocks = generated_blocks()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = fill(text, blocks)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
