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


# One figure of each kind besides the window (padding_strides, above).
KIND_FIGURES = (
    ("channels", "multi_channel"),
    ("channels", "depthwise_separable"),
    ("im2col", "im2col"),
    ("matrix", "convolution_matrix"),
    ("scatter", "transposed_scatter"),
    ("stack", "receptive_field"),
)


def formats_by_kind(report: Any, work: Path) -> None:
    """A second table: one figure of every other kind in every format (one run each)."""
    from convgif import gallery
    from convgif.api import RenderOptions, render_stack_to_file, render_to_file
    from convgif.spec import ConvSpec

    entries = {e.name: e for e in gallery.load_gallery()}
    rows = []
    progress(f"{len(KIND_FIGURES)} figures of the other kinds in every format")
    for kind, name in KIND_FIGURES:
        entry = entries[name]
        options = RenderOptions(**entry.render)
        cells = []
        for suffix in SUFFIXES:
            target = work / f"{name}{suffix}"
            if entry.stack is not None:
                stack = entry.stack_spec()
                seconds = timed(lambda t=target, s=stack, o=options: render_stack_to_file(s, t, o))
            else:
                spec = ConvSpec(**entry.spec)
                seconds = timed(lambda t=target, s=spec, o=options: render_to_file(s, t, o))
            cells.append(f"{target.stat().st_size:,} / {seconds * 1000:.0f}")
        rows.append([name, kind, *cells])
    report.add(
        "One figure of each other kind in every format, one run each: bytes / ms "
        "(`render_to_file`, drawing included).",
        "",
    )
    report.table(
        ["figure", "kind", *(NAMES[suffix] for suffix in SUFFIXES)],
        rows,
        align=["---", "---", *["---:"] * len(SUFFIXES)],
    )


if __name__ == "__main__":

    class _Printed:
        def section(self, name: str) -> None:
            pass

        def add(self, *lines: str) -> None:
            print(*lines, sep="\n")

        def table(self, header: list[str], rows: list[list[str]], align: Any = None) -> None:
            print("| " + " | ".join(header) + " |")
            print("|---" * len(header) + "|")
            for row in rows:
                print("| " + " | ".join(row) + " |")

    with tempfile.TemporaryDirectory(prefix="convgif-formats-") as scratch:
        formats(_Printed(), Path(scratch), 3)
        formats_by_kind(_Printed(), Path(scratch))
