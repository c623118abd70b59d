"""The gallery's ``padding_strides`` in every animation format: bytes and time beside the GIF.

A section of ``make bench`` (``benchmarks/run.py``); also runs alone:
``python benchmarks/formats.py`` prints the table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from measure import median, progress, timed

FIGURE = "padding_strides"
SUFFIXES = (".gif", ".png", ".webp", ".mp4", ".webm", ".html")
NAMES = {
    ".gif": "GIF",
    ".png": "APNG",
    ".webp": "WebP",
    ".mp4": "MP4 (H.264)",
    ".webm": "WebM (VP9)",
    ".html": "HTML player",
}


def measure(work: Path, repeats: int) -> list[tuple[str, int, float]]:
    """``(suffix, bytes, median seconds)`` of rendering the figure to each format, in process."""
    from convgif import gallery
    from convgif.api import RenderOptions, render_to_file
    from convgif.spec import ConvSpec

    (entry,) = gallery.select(gallery.load_gallery(), [FIGURE])
    spec, options = ConvSpec(**entry.spec), RenderOptions(**entry.render)
    render_to_file(spec, work / "warm-up.gif", options)  # imports, caches, palette table
    rows = []
    for suffix in SUFFIXES:
        target = work / f"{FIGURE}{suffix}"
        seconds = median(
            [timed(lambda t=target: render_to_file(spec, t, options)) for _ in range(repeats)]
        )
        rows.append((suffix, target.stat().st_size, seconds))
    return rows


def formats(report: Any, work: Path, repeats: int) -> None:
    """The section: one row per format, bytes and time also as a ratio to the GIF's."""
    progress(f"{FIGURE} in every format, {repeats}x")
    rows = measure(work, repeats)
    gif_bytes, gif_seconds = rows[0][1], rows[0][2]
    report.section("formats")
    report.add(
        "## Formats",
        "",
        f"The gallery's `{FIGURE}` rendered to each animation format in one process "
        "(`render_to_file`, drawing included; medians). Video is lossy (yuv420p), the "
        "others store the GIF's palette colours exactly.",
        "",
    )
    report.table(
        ["format", "bytes", "× GIF bytes", "ms", "× GIF time"],
        [
            [
                NAMES[suffix],
                f"{size:,}",
                f"{size / gif_bytes:.2f}",
                f"{seconds * 1000:.0f}",
                f"{seconds / gif_seconds:.2f}",
            ]
            for suffix, size, seconds in rows
        ],
    )


if __name__ == "__main__":

    class _Printed:
        def section(self, name: str) -> None:
            pass

        def add(self, *lines: str) -> None:
            print(*lines, sep="\n")

        def table(self, header: list[str], rows: list[list[str]]) -> None:
            print("| " + " | ".join(header) + " |")
            print("|---" * len(header) + "|")
            for row in rows:
                print("| " + " | ".join(row) + " |")

    with tempfile.TemporaryDirectory(prefix="convgif-formats-") as scratch:
        formats(_Printed(), Path(scratch), 3)
