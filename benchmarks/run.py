"""``make bench``: where the time and the bytes of convgif go.

Prints one Markdown report and writes it to ``benchmarks/RESULTS.md``:

- the whole gallery through the real CLI (``--jobs 1`` and all cores, from an
  empty folder, and again with every figure current), and the same figures in
  this process, one row per figure with its kind (window, channels, im2col,
  matrix, scatter, stack): drawing, encoding, and Pillow's own GIF writer on
  the same frames, timed apart; and, per kind, how much of a frame's time is
  spent in C (Agg rasterising, Pillow's LZW encoder, numpy): the native floor;
- the floor: Pillow alone quantizing and encoding the drawn frames (one
  palette per figure) on one core, against the whole gallery on every core;
- formats: ``padding_strides`` as GIF, APNG, WebP, MP4, WebM and the HTML
  player, bytes and time, and one figure of each kind in every format
  (``benchmarks/formats.py``);
- bytes and pixel sizes against the original figures (``../shared/anchor-gallery``,
  skipped when absent), and the new figures' bytes;
- scale: flat figures of growing inputs, 8 channels and a 10×10 matrix view,
  each in a fresh process with its own peak memory;
- start-up: ``convgif --help``, ``import convgif`` and which heavy libraries
  they load; what a drawing process pays before its first frame;
- the goals (issues 3, 6 and 16) as a checklist, first.

Numbers are compared within one run (ratios); every time is a median of
repeats; every file goes to a temporary directory. ``--quick`` (one repeat,
no 64×64 figure) is for trying changes and writes no RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import datetime
import hashlib
import io
import json
import os
import platform
import pstats
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formats import formats, formats_by_kind
from measure import (
    ANCHOR_DIR,
    PYTHON,
    REPO,
    Child,
    convgif_command,
    median,
    progress,
    run_child,
    run_python,
    timed,
)

RESULTS = REPO / "benchmarks" / "RESULTS.md"
SCALE_SIZES = (8, 16, 32, 64)
SCALE_KERNEL = 3
SCALE_DRAW_SAMPLE = 300  # frames drawn again alone to split a scale figure's time

# Goals (issues 3, 6 and 16).
GOAL_MS_PER_FRAME = 10.0
GOAL_MS_PER_FRAME_WINDOW = 2.0  # drawn and encoded, median of the window figures
GOAL_MS_PER_FRAME_NEW = 3.0  # … of the other kinds
GOAL_BYTES_RATIO = 0.45
GOAL_PEAK_MB_32 = 400.0
GOAL_PILLOW_RATIO = 1.0  # the gallery on all cores ÷ Pillow alone encoding its frames on one
# The scale table's figures besides the flat single-channel ones: (name, spec, options).
SCALE_EXTRA = (
    ("8 channels (8×8, 8 in, 2 out)", {"input_size": 8, "in_channels": 8, "out_channels": 2}, {}),
    # The convolution matrix of a 10×10 input (64×100) is more than the matrix view
    # draws legibly (64 columns at most): the 10×10 input as im2col, and the largest C.
    ("10×10 input, im2col view", {"input_size": 10, "kernel_size": 3}, {"view": "im2col"}),
    ("8×8 input, matrix view (C: 36×64)", {"input_size": 8, "kernel_size": 3}, {"view": "matrix"}),
)

# One scale figure in a fresh process: import, a small warm-up figure, the
# timed figure, then a sample of its frames drawn again alone.
SCALE_CHILD = """
import collections, itertools, json, sys, time
from pathlib import Path
import convgif.render
from convgif.api import RenderOptions, _renderer, render_to_file
from convgif.spec import ConvSpec
spec, options = (json.loads(a) for a in sys.argv[1:3])
sample, out = int(sys.argv[3]), Path(sys.argv[4])
spec, options = ConvSpec(**spec), RenderOptions(**options)
render_to_file(ConvSpec(input_size=4, kernel_size=3), out, RenderOptions(layout="flat"))
started = time.perf_counter()
written = render_to_file(spec, out, options)
seconds = time.perf_counter() - started
sample = min(written.frame_count, sample)
started = time.perf_counter()
collections.deque(itertools.islice(_renderer(spec, options).frames(), sample), maxlen=0)
draw = (time.perf_counter() - started) / sample
from PIL import Image
with Image.open(out) as image:
    width, height = image.size
print(json.dumps({"seconds": seconds, "draw": draw, "frames": written.frame_count,
                  "bytes": written.size_bytes, "width": width, "height": height}))
"""

# What a drawing process pays around its steady state: imports, the palette
# table, the first figure (matplotlib's caches) against an identical second,
# and, measured by the parent, the interpreter's exit after the last line
# (optionally after gc.freeze(), which spares the final collection the
# objects matplotlib holds).
FIRST_FIGURE_CHILD = """
import gc, json, sys, time
started = time.perf_counter()
import convgif.render
from convgif.api import RenderOptions, _renderer, render_to_file
from convgif.spec import ConvSpec
from convgif.writers import palette_mapper
imported = time.perf_counter()
spec, options = ConvSpec(input_size=5, kernel_size=3, padding=1), RenderOptions()
palette_mapper(_renderer(spec, options).palette())
mapped = time.perf_counter()
render_to_file(spec, sys.argv[1], options)
first = time.perf_counter()
render_to_file(spec, sys.argv[1], options)
second = time.perf_counter()
print(json.dumps({"import": imported - started, "palette_table": mapped - imported,
                  "first": first - mapped, "second": second - first}), flush=True)
if sys.argv[2] == "freeze":
    gc.freeze()
print(time.time(), file=sys.stderr, flush=True)
"""

# Which heavy libraries a start-up path loads.
MODULES_AFTER_HELP = """
import json, sys
from convgif.cli import main
sys.argv = ["convgif", "--help"]
try:
    main()
except SystemExit:
    pass
print(json.dumps({m: m in sys.modules for m in ("matplotlib", "numpy", "PIL")}), file=sys.stderr)
"""
MODULES_AFTER_IMPORT = """
import json, sys
import convgif
print(json.dumps({m: m in sys.modules for m in ("matplotlib", "numpy", "PIL")}))
"""

# The per-frame goals of issue 16 are milliseconds measured on one machine on
# 2026-11-21: the window figures then took 1.7 ms per frame with the code of
# this commit, by this same measure. Its code is timed again in every run, so
# the goals can also be read on the machine at hand.
YARDSTICK_COMMIT = "8b5b8ee3995e3629ee4edfc4daa3133aac94ede6"
YARDSTICK_MS_THEN = 1.7
YARDSTICK_DATE = "2026-11-21"
# That commit's `make bench` drawing-and-encoding measure, against its own API:
# per figure the median of `repeats` draws (frames discarded) plus the median of
# `repeats` encodes of the drawn frames, per frame; the median over its figures.
YARDSTICK_CHILD = """
import collections, json, statistics, sys, time
from pathlib import Path
import convgif
from convgif.api import RenderOptions, _renderer
from convgif.gallery import load_gallery
from convgif.spec import ConvSpec
from convgif.writers import palette_mapper, write_animation
root, repeats, out = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
assert Path(convgif.__file__).resolve().is_relative_to(root.resolve()), convgif.__file__
def timed(function):
    started = time.perf_counter(); function(); return time.perf_counter() - started
entries = [e for e in load_gallery() if e.error is None]
first = entries[0]
warm_up = _renderer(ConvSpec(**first.spec), RenderOptions(**first.render))
collections.deque(warm_up.frames(), maxlen=0)
per_frame = []
for entry in entries:
    spec, options = ConvSpec(**entry.spec), RenderOptions(**entry.render)
    draw = statistics.median(
        timed(lambda: collections.deque(_renderer(spec, options).frames(), maxlen=0))
        for _ in range(repeats)
    )
    renderer = _renderer(spec, options)
    frames = [frame.copy() for frame in renderer.frames()]
    palette = renderer.palette()
    palette_mapper(palette)
    encode = statistics.median(
        timed(lambda: write_animation(out, frames, duration_ms=options.duration_ms,
                                      palette=palette, loop=0, transparent=options.transparent))
        for _ in range(repeats)
    )
    per_frame.append((draw + encode) / len(frames))
print(json.dumps({"figures": [e.name for e in entries],
                  "ms_per_frame": statistics.median(per_frame) * 1000}))
"""

SECTION_ORDER = (
    "environment",
    "goals",
    "gallery",
    "yardstick",
    "floor",
    "bytes",
    "formats",
    "scale",
    "start-up",
)


@dataclass
class Report:
    """Markdown lines by section, and the numbers the checklist needs.

    Sections are measured in the order the measurements need and printed in
    :data:`SECTION_ORDER` (the goals first).
    """

    sections: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, float | int | str | None] = field(default_factory=dict)
    current: str = "environment"

    def section(self, name: str) -> None:
        """Add the following lines to section ``name``."""
        self.current = name

    def add(self, *lines: str) -> None:
        """Append lines to the current section."""
        self.sections.setdefault(self.current, []).extend(lines)

    def table(
        self, header: list[str], rows: list[list[str]], align: list[str] | None = None
    ) -> None:
        """A Markdown table; numbers right-aligned unless ``align`` says otherwise."""
        align = align or ["---"] + ["---:"] * (len(header) - 1)
        self.add("| " + " | ".join(header) + " |", "|" + "|".join(align) + "|")
        for row in rows:
            self.add("| " + " | ".join(row) + " |")
        self.add("")

    def text(self) -> str:
        """The whole report."""
        lines = [line for name in SECTION_ORDER for line in self.sections.get(name, [])]
        return "\n".join(lines).rstrip() + "\n"

    def number(self, key: str) -> float:
        """A measured number, as a float."""
        return float(self.numbers[key])  # type: ignore[arg-type]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gif_size(path: Path) -> tuple[int, int, int]:
    """Width, height and frame count of a GIF."""
    from PIL import Image

    with Image.open(path) as image:
        return (image.size[0], image.size[1], getattr(image, "n_frames", 1))


def _checked(child: Child, what: str) -> Child:
    if child.returncode != 0:
        raise RuntimeError(f"{what} failed ({child.returncode}): {child.stderr.strip()[-2000:]}")
    return child


# --------------------------------------------------------------------------------------
# Sections


def environment(report: Report) -> None:
    """The machine and the library versions the numbers belong to."""
    import matplotlib
    import numpy
    import PIL

    report.section("environment")
    cores = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = cores
    report.numbers["cores"] = usable
    load = os.getloadavg()
    report.add(
        "# convgif benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run.py`). Compare numbers within this file only "
        "(ratios); times are medians of repeated runs on the machine below.",
        "",
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Machine: {usable} usable cores ({cores} online), {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"- Load average at the start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(other work on the machine slows the multi-core runs most; CPU seconds are "
        "less affected than wall seconds)",
        f"- Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}",
    )


def whole_gallery(report: Report, work: Path, repeats: int) -> dict[int, Path]:
    """``convgif gallery`` as a fresh process, with 1 job and with every core.

    Each run writes into an empty folder (every figure drawn); then, once, the
    all-cores run again into its folder, where every figure is current.
    """
    report.section("gallery")
    cores = int(report.number("cores"))
    job_counts = sorted({1, cores})
    walls: dict[int, list[float]] = {jobs: [] for jobs in job_counts}
    cpus: dict[int, list[float]] = {jobs: [] for jobs in job_counts}
    outputs: dict[int, Path] = {}
    digests: set[tuple[tuple[str, str], ...]] = set()
    summary: dict[str, int] = {}
    for repeat in range(repeats):
        for jobs in job_counts:  # interleaved, so drifting load hits both alike
            out = work / f"gallery-jobs{jobs}-{repeat}"
            progress(f"gallery --jobs {jobs} (run {repeat + 1}/{repeats})")
            command = [*convgif_command(), "gallery", "--out", str(out), "--jobs", str(jobs)]
            child = _checked(run_child(command), "convgif gallery")
            walls[jobs].append(child.wall_s)
            cpus[jobs].append(child.cpu_s)
            outputs[jobs] = out
            digests.add(tuple(sorted((p.name, _digest(p)) for p in out.glob("*.gif"))))
            match = re.search(r"(\d+) figures, (\d+) frames, (\d+) bytes", child.stdout)
            if match:
                keys = ("figures", "frames", "bytes")
                summary = {k: int(v) for k, v in zip(keys, match.groups(), strict=True)}
    warm: list[float] = []
    for repeat in range(repeats):
        progress(f"gallery --jobs {cores}, every figure current (run {repeat + 1}/{repeats})")
        command = [*convgif_command(), "gallery", "--out", str(outputs[cores])]
        child = _checked(run_child(command), "convgif gallery")
        if "already current" not in child.stdout:
            raise RuntimeError(f"the second gallery run drew figures again: {child.stdout[-500:]}")
        warm.append(child.wall_s)
    report.numbers.update(summary)
    report.numbers["gallery_jobs1_s"] = median(walls[1])
    report.numbers["gallery_all_s"] = median(walls[cores])
    report.numbers["gallery_all_cpu_s"] = median(cpus[cores])
    report.numbers["gallery_current_s"] = median(warm)
    frames = max(1, summary.get("frames", 1))
    report.add(
        "## Whole gallery",
        "",
        f"`convgif gallery` as a fresh process (start-up included) into an empty temporary "
        f"directory, {repeats} runs each, medians: {summary.get('figures', '?')} figures, "
        f"{summary.get('frames', '?')} frames, {summary.get('bytes', 0):,} bytes.",
        "",
    )
    rows = [
        [
            f"`--jobs {jobs}`",
            f"{median(walls[jobs]):.2f}",
            f"{min(walls[jobs]):.2f}–{max(walls[jobs]):.2f}",
            f"{median(cpus[jobs]):.2f}",
            _ms(median(walls[jobs]) / frames),
        ]
        for jobs in job_counts
    ]
    rows.append(
        [
            "again, every figure current (manifest)",
            f"{median(warm):.2f}",
            f"{min(warm):.2f}–{max(warm):.2f}",
            "",
            "",
        ]
    )
    report.table(["run", "wall s", "wall range s", "CPU s", "wall ms per frame"], rows)
    same = "yes" if len(digests) == 1 else f"**no** ({len(digests)} different sets)"
    report.add(f"Every run, whatever its job count, wrote the same bytes: {same}.", "")
    return outputs


def _entry_kind(entry: Any) -> str:
    """window, channels, im2col, matrix, scatter or stack."""
    from convgif.api import RenderOptions
    from convgif.spec import ConvSpec

    if entry.stack is not None:
        return "stack"
    options = RenderOptions(**entry.render)
    if options.view != "window":
        return options.view
    spec = ConvSpec(**entry.spec)
    if not spec.is_single_channel or options.rgb or options.separable or options.bias is not None:
        return "channels"
    return "window"


def _entry_renderer(entry: Any) -> tuple[Any, Any]:
    """The renderer of a gallery entry (a convolution or a stack) and its options."""
    from convgif.api import RenderOptions, _figure_renderer, build_figure
    from convgif.figures.stack import stack_figure
    from convgif.spec import ConvSpec

    options = RenderOptions(**entry.render)
    if entry.stack is not None:
        figure = stack_figure(entry.stack_spec())
    else:
        figure = build_figure(ConvSpec(**entry.spec), options)
    return _figure_renderer(figure, options), options


# The C calls a frame cannot do without, by where cProfile reports them:
# Agg rasterising paths, Pillow's LZW encoder, and numpy's array methods
# (palette lookups, comparisons reduced, copies). A ufunc called with ``out=``
# and slice assignments are not reported apart (they count as Python here), so
# the native sum is a lower bound.
NATIVE_PARTS = {
    "Agg": lambda name: "_backend_agg." in name,
    "LZW": lambda name: "of 'ImagingEncoder' objects" in name,
    "numpy": lambda name: "of 'numpy." in name,  # ndarray and ufunc methods
}


def native_seconds(function: Callable[[], object]) -> dict[str, float]:
    """Seconds ``function`` spends inside each of :data:`NATIVE_PARTS` (one profiled call)."""
    profile = cProfile.Profile()
    profile.runcall(function)
    seconds = dict.fromkeys(NATIVE_PARTS, 0.0)
    for (file, _, name), (_, _, own, _, _) in pstats.Stats(profile).stats.items():
        if file != "~":  # a C function (cProfile's name for built-ins)
            continue
        for part, matches in NATIVE_PARTS.items():
            if matches(name):
                seconds[part] += own
                break
    return seconds


def pillow_gif(path: Path, frames: list[Any], palette: Any, duration_ms: int) -> None:
    """Pillow's public GIF writer alone: each frame quantized to the figure's palette, saved.

    The floor the gallery is compared with: no drawing, one palette per
    figure (the renderer's), no dithering, Pillow's own frame differencing.
    """
    from PIL import Image

    table = Image.new("P", (1, 1))
    table.putpalette(palette.reshape(-1).tolist())
    images = [
        Image.fromarray(frame).convert("RGB").quantize(palette=table, dither=Image.Dither.NONE)
        for frame in frames
    ]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)


def draw_and_encode(report: Report, work: Path, repeats: int, reference: Path | None) -> None:
    """Per figure, in this process: drawing alone, encoding alone, Pillow alone."""
    from convgif.gallery import load_gallery
    from convgif.writers import palette_mapper, write_animation

    report.section("gallery")
    entries = [e for e in load_gallery() if e.error is None]
    out = work / "in-process"
    out.mkdir()
    # The first figure of a process also fills matplotlib's caches (measured in
    # the start-up section): draw one before timing.
    collections.deque(_entry_renderer(entries[0])[0].frames(), maxlen=0)
    rows: list[list[str]] = []
    totals = {"draw": 0.0, "encode": 0.0, "pillow": 0.0}
    frames_total = 0
    per_frame: dict[str, list[float]] = {}  # kind -> (draw + encode) per frame, per figure
    native_per_frame: dict[str, list[dict[str, float]]] = {}  # kind -> per figure, per part
    palettes: set[bytes] = set()
    identical: list[bool] = []
    kinds: dict[str, str] = {}
    progress(f"drawing and encoding {len(entries)} figures in this process, {repeats}x each")
    for entry in entries:
        kind = kinds[entry.name] = _entry_kind(entry)

        def draw(entry: Any = entry) -> None:
            collections.deque(_entry_renderer(entry)[0].frames(), maxlen=0)  # frames discarded

        draw_s = median([timed(draw) for _ in range(repeats)])
        renderer, options = _entry_renderer(entry)
        frames = [frame.copy() for frame in renderer.frames()]  # frames() reuses one buffer
        palette = renderer.palette()
        palettes.add(palette.tobytes())
        palette_mapper(palette)  # built once per process (timed in a fresh one, below)
        path = out / entry.file_name

        def encode(path=path, frames=frames, options=options, palette=palette) -> None:
            # What render_to_file does with the frames.
            write_animation(
                path,
                frames,
                duration_ms=options.duration_ms,
                palette=palette,
                loop=0,
                transparent=options.transparent,
            )

        def pillow(frames=frames, options=options, palette=palette) -> None:
            pillow_gif(work / "pillow.gif", frames, palette, options.duration_ms)

        encode_s = median([timed(encode) for _ in range(repeats)])
        pillow_s = median([timed(pillow) for _ in range(repeats)])

        def draw_and_encode_once(entry: Any = entry, path: Path = path) -> None:
            renderer, options = _entry_renderer(entry)
            write_animation(
                path, renderer.frames(), duration_ms=options.duration_ms,
                palette=renderer.palette(), loop=0, transparent=options.transparent,
            )  # fmt: skip

        native = native_seconds(draw_and_encode_once)
        if reference is not None and (reference / entry.file_name).exists():
            identical.append(_digest(path) == _digest(reference / entry.file_name))
        count = len(frames)
        del frames
        totals["draw"] += draw_s
        totals["encode"] += encode_s
        totals["pillow"] += pillow_s
        frames_total += count
        per_frame.setdefault(kind, []).append((draw_s + encode_s) / count)
        native_per_frame.setdefault(kind, []).append(
            {part: value / count for part, value in native.items()}
        )
        width, height = renderer.size_px
        rows.append(
            [
                entry.name,
                kind,
                str(count),
                f"{width}×{height}",
                _ms(draw_s / count),
                _ms(encode_s / count),
                _ms((draw_s + encode_s) / count),
                _ms(pillow_s / count),
                f"{path.stat().st_size:,}",
            ]
        )
    window = per_frame.get("window", [0.0])
    new = [v for kind, values in per_frame.items() if kind != "window" for v in values] or [0.0]
    native_window = [sum(v.values()) for v in native_per_frame.get("window", [])] or [0.0]
    native_new = [
        sum(v.values())
        for kind, values in native_per_frame.items()
        if kind != "window"
        for v in values
    ] or [0.0]
    report.numbers.update(
        draw_s=totals["draw"],
        encode_s=totals["encode"],
        pillow_s=totals["pillow"],
        palette_count=len(palettes),
        frames_in_process=frames_total,
        ms_per_frame_median=median([v for values in per_frame.values() for v in values]) * 1000,
        ms_per_frame_window=median(window) * 1000,
        ms_per_frame_new=median(new) * 1000,
        native_ms_per_frame_window=median(native_window) * 1000,
        native_ms_per_frame_new=median(native_new) * 1000,
    )
    report.numbers["kinds"] = json.dumps(kinds)
    rows.append(
        [
            "**all frames**",
            "",
            str(frames_total),
            "",
            *(
                _ms(v / frames_total)
                for v in (
                    totals["draw"],
                    totals["encode"],
                    totals["draw"] + totals["encode"],
                    totals["pillow"],
                )
            ),
            "",
        ]
    )
    report.add(
        "### Drawing and encoding, per figure (one process, one core)",
        "",
        "Drawing: the renderer built and `Renderer.frames()` iterated, frames discarded "
        "(the static scene drawn once per figure, then blitting). Encoding: `write_animation` "
        "of the already drawn frames, as `render_to_file` calls it. Pillow: Pillow's public GIF "
        "writer on the same frames (each quantized to the figure's palette, then "
        "`save(save_all=True)`), the floor below. Medians of "
        f"{repeats} runs, in ms per frame; bytes: convgif's file.",
        "",
    )
    report.table(
        [
            "figure",
            "kind",
            "frames",
            "pixels",
            "draw",
            "encode",
            "draw + encode",
            "Pillow alone",
            "bytes",
        ],
        rows,
        align=["---", "---", *["---:"] * 7],
    )
    kind_rows = [
        [kind, str(len(values)), _ms(median(values))]
        for kind, values in sorted(per_frame.items(), key=lambda item: -len(item[1]))
    ]
    report.add("Per kind: median over its figures of draw + encode, ms per frame.", "")
    report.table(["kind", "figures", "ms per frame"], kind_rows)
    native_table(report, per_frame, native_per_frame)
    report.add(
        f"Totals: drawing {totals['draw']:.2f} s, encoding {totals['encode']:.2f} s, "
        f"Pillow alone {totals['pillow']:.2f} s."
    )
    if identical:
        same = "yes" if all(identical) else f"**no** ({identical.count(False)} differ)"
        report.add(f"The files encoded here are byte-identical to the CLI's: {same}.")
    report.add("")


def native_table(
    report: Report,
    per_frame: dict[str, list[float]],
    native_per_frame: dict[str, list[dict[str, float]]],
) -> None:
    """Per kind: how much of a frame's time is spent in C (drawing, encoding, numpy)."""
    rows = []
    for kind, values in sorted(per_frame.items(), key=lambda item: -len(item[1])):
        parts = native_per_frame[kind]
        natives = [sum(p.values()) for p in parts]
        rows.append(
            [
                kind,
                _ms(median(values)),
                *(_ms(median([p[part] for p in parts])) for part in NATIVE_PARTS),
                _ms(median(natives)),
                f"{median([n / v for n, v in zip(natives, values, strict=True)]):.0%}",
            ]
        )
    report.add(
        "",
        "### Where a frame's time goes: the native floor",
        "",
        "Per figure, one more build, draw and encode run under cProfile: the time spent "
        "inside Agg's rasterising calls, Pillow's LZW encoder and numpy's array methods, "
        "per frame (set-up included, as above): what would remain of a frame's time with the "
        "same calls if convgif's own Python cost nothing. numpy ufuncs called with `out=` "
        "and slice copies are not reported apart, so the sum is a lower bound. Medians over "
        "each kind's figures, ms per frame; share: of the "
        "timed draw + encode.",
        "",
    )
    report.table(
        ["kind", "draw + encode", *NATIVE_PARTS, "native, at least", "share"],
        rows,
        align=["---", *["---:"] * (len(NATIVE_PARTS) + 3)],
    )


def yardstick_code(work: Path) -> Path | None:
    """The package and templates of :data:`YARDSTICK_COMMIT`, unpacked; None without git."""
    folder = work / "yardstick"
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", YARDSTICK_COMMIT,
             "convgif", "templates"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout, or a shallow one without that commit
    folder.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def yardstick_ms(code: Path, repeats: int, work: Path) -> tuple[float, int]:
    """The yardstick's figures, ms per frame drawn and encoded (median), and how many."""
    environment = {**os.environ, "PYTHONPATH": str(code)}
    child = subprocess.run(
        [PYTHON, "-c", YARDSTICK_CHILD, str(code), str(repeats), str(work / "yardstick.gif")],
        capture_output=True, text=True, cwd=code, env=environment,
    )  # fmt: skip
    if child.returncode != 0:
        raise RuntimeError(f"yardstick failed: {child.stderr.strip()[-2000:]}")
    result = json.loads(child.stdout)
    return float(result["ms_per_frame"]), len(result["figures"])


def yardstick(report: Report, runs: list[tuple[float, int]]) -> None:
    """The per-frame goals read on this machine, by the yardstick's time here and then."""
    report.section("yardstick")
    if not runs:
        report.add(
            "## The per-frame goals on this machine",
            "",
            f"Skipped: commit {YARDSTICK_COMMIT[:7]} is not in this checkout's history.",
            "",
        )
        return
    here = median([ms for ms, _ in runs])
    scale = here / YARDSTICK_MS_THEN
    report.numbers.update(yardstick_ms=here, yardstick_scale=scale)
    each = ", ".join(f"{ms:.2f}" for ms, _ in runs)
    report.add(
        "## The per-frame goals on this machine",
        "",
        f"The goals of 2 ms (window figures) and 3 ms (the other kinds) per frame were set on "
        f"{YARDSTICK_DATE}, when the window figures took {YARDSTICK_MS_THEN} ms per frame with "
        f"the code of {YARDSTICK_COMMIT[:7]}. That code, timed here by the same measure (its "
        f"own drawing and encoding of its {runs[0][1]} window figures, in a child process "
        f"before and after this file's in-process section; median of {len(runs)}), takes "
        f"**{here:.2f} ms** per frame ({each}): {scale:.2f}× the time it took then. "
        f"Scaled alike, the goals are {2.0 * scale:.1f} ms and {3.0 * scale:.1f} ms here.",
        "",
    )


def first_figure(report: Report, repeats: int, work: Path) -> None:
    """What a fresh drawing process pays around its figures (medians of fresh processes)."""
    keys = ("import", "palette_table", "first", "second")
    runs: dict[str, list[float]] = {k: [] for k in (*keys, "exit", "exit_frozen", "python")}
    progress(f"the first figure of a process, {repeats}x")
    for _ in range(repeats):
        runs["python"].append(_checked(run_child([PYTHON, "-c", "pass"]), "python").wall_s)
        for variant in ("plain", "freeze"):
            child = run_python(FIRST_FIGURE_CHILD, str(work / "first.gif"), variant)
            exit_s = child.ended_at - float(child.stderr.strip().splitlines()[-1])
            runs["exit" if variant == "plain" else "exit_frozen"].append(exit_s)
            if variant == "plain":
                result = json.loads(child.stdout.strip().splitlines()[-1])
                for key in keys:
                    runs[key].append(float(result[key]))
    report.numbers.update(
        interpreter_s=median(runs["python"]),
        import_render_s=median(runs["import"]),
        palette_table_s=median(runs["palette_table"]),
        first_figure_s=median(runs["first"]),
        second_figure_s=median(runs["second"]),
        first_figure_extra_s=max(0.0, median(runs["first"]) - median(runs["second"])),
        exit_s=median(runs["exit"]),
        exit_frozen_s=median(runs["exit_frozen"]),
    )


def floor(report: Report) -> None:
    """The gallery ÷ Pillow alone encoding its frames on one core; where the time goes."""
    report.section("floor")
    n = report.number
    cores = int(n("cores"))
    pillow_s = n("pillow_s")
    tables_s = n("palette_table_s") * n("palette_count")
    encode_s = n("encode_s") + tables_s
    report.numbers["pillow_ratio"] = n("gallery_all_s") / pillow_s
    frames = n("frames_in_process")
    report.add(
        "## The floor: Pillow alone",
        "",
        "Pillow's public GIF writer quantizing and encoding the same frames, already drawn, "
        f"on one core in one process (one palette per figure, no drawing): **{pillow_s:.2f} s** "
        f"for {int(frames)} frames ({_ms(pillow_s / frames)} ms a frame). convgif's own "
        f"encoder on the same frames, palette tables included: {encode_s:.2f} s "
        f"({_ms(encode_s / frames)} ms a frame).",
        "",
    )
    rows = [
        ["Pillow alone (1 core)", f"{pillow_s:.2f}", "1.00"],
        ["convgif's encoder alone (1 core)", f"{encode_s:.2f}", f"{encode_s / pillow_s:.2f}"],
        [
            "gallery `--jobs 1`",
            f"{n('gallery_jobs1_s'):.2f}",
            f"{n('gallery_jobs1_s') / pillow_s:.2f}",
        ],
    ]
    if cores > 1:
        rows.append(
            [
                f"gallery `--jobs {cores}` (all cores)",
                f"{n('gallery_all_s'):.2f}",
                f"**{n('pillow_ratio'):.2f}** (goal ≤ {GOAL_PILLOW_RATIO})",
            ]
        )
    rows.append(
        [
            "gallery again, every figure current",
            f"{n('gallery_current_s'):.2f}",
            f"{n('gallery_current_s') / pillow_s:.2f}",
        ]
    )
    report.table(["run", "wall s", "÷ Pillow alone"], rows)
    start_s = n("interpreter_s") + n("import_render_s") + n("first_figure_extra_s")
    work_s = n("draw_s") + encode_s
    total_s = start_s + work_s + n("exit_s")
    report.add(
        "Where the gallery's time goes (`--jobs 1`, from the parts measured apart): "
        f"interpreter {n('interpreter_s'):.2f} s + importing the renderer (matplotlib) "
        f"{n('import_render_s'):.2f} s + the first figure's extra "
        f"{n('first_figure_extra_s'):.2f} s + drawing {n('draw_s'):.2f} s + encoding "
        f"{encode_s:.2f} s + the interpreter's exit {n('exit_s'):.2f} s = {total_s:.2f} s; "
        f"measured {n('gallery_jobs1_s'):.2f} s (rest: {n('gallery_jobs1_s') - total_s:+.2f} s).",
        "",
    )
    if cores > 1:
        bound = start_s + work_s / cores
        report.add(
            f"With {cores} cores the workers are forked from a process that has imported the "
            f"renderer, so start-up is paid once: the gallery cannot finish before start-up + "
            f"(drawing + encoding) / {cores} = {bound:.2f} s = {bound / pillow_s:.2f}× Pillow "
            f"alone. CPU seconds of the all-cores run: {n('gallery_all_cpu_s'):.2f} "
            "(wall seconds suffer most from other work on the machine).",
            "",
        )


def anchor_bytes(report: Report, ours: Path | None) -> None:
    """Bytes and pixel sizes of the figures named like the originals; the others' bytes."""
    report.section("bytes")
    report.add("## Bytes against the original figures", "")
    anchors = sorted(ANCHOR_DIR.glob("*.gif")) if ANCHOR_DIR.is_dir() else []
    if ours is not None:
        kinds = json.loads(str(report.numbers.get("kinds", "{}")))
        names = {a.name for a in anchors}
        others = sorted(p for p in ours.glob("*.gif") if p.name not in names)
        report.numbers["new_bytes"] = sum(p.stat().st_size for p in others)
        report.numbers["new_count"] = len(others)
    if not anchors or ours is None:
        report.add(f"Skipped: no original figures in `{ANCHOR_DIR}`.", "")
        report.numbers["bytes_ratio"] = None
        return
    rows, total_anchor, total_ours, smaller, missing = [], 0, 0, [], []
    for anchor in anchors:
        mine = ours / anchor.name
        a_bytes = anchor.stat().st_size
        aw, ah, a_frames = _gif_size(anchor)
        if not mine.exists():
            missing.append(anchor.stem)
            rows.append([anchor.stem, f"{a_bytes:,}", "missing", "", f"{aw}×{ah}", "", ""])
            continue
        m_bytes = mine.stat().st_size
        mw, mh, m_frames = _gif_size(mine)
        total_anchor += a_bytes
        total_ours += m_bytes
        is_smaller = mw < aw or mh < ah
        if is_smaller:
            smaller.append(anchor.stem)
        rows.append(
            [
                anchor.stem,
                f"{a_bytes:,}",
                f"{m_bytes:,}",
                f"{m_bytes / a_bytes:.2f}",
                f"{aw}×{ah}",
                f"{mw}×{mh}" + (" **smaller**" if is_smaller else ""),
                f"{a_frames} / {m_frames}",
            ]
        )
    ratio = total_ours / total_anchor if total_anchor else float("nan")
    rows.append(["**total**", f"**{total_anchor:,}**", f"**{total_ours:,}**", f"**{ratio:.3f}**"])
    rows[-1] += ["", "", ""]
    report.numbers.update(
        bytes_ratio=ratio,
        bytes_ours=total_ours,
        bytes_anchor=total_anchor,
        smaller_figures=", ".join(smaller) or "none",
        missing_figures=", ".join(missing) or "none",
        anchor_count=len(anchors) - len(missing),
    )
    report.add(
        f"Ours from the all-cores gallery run; the originals from `{ANCHOR_DIR.name}/`. "
        "Frames: original / ours.",
        "",
    )
    report.table(
        ["figure", "original bytes", "our bytes", "ratio", "original px", "our px", "frames"],
        rows,
    )
    new_rows = []
    for path in others:
        width, height, frames = _gif_size(path)
        size = path.stat().st_size
        new_rows.append(
            [
                path.stem,
                kinds.get(path.stem, "?"),
                str(frames),
                f"{width}×{height}",
                f"{size:,}",
                f"{size / frames / (width * height):.3f}",
            ]
        )
    new_rows.append(["**total**", "", "", "", f"**{int(report.number('new_bytes')):,}**", ""])
    report.add(
        f"### The other {len(others)} figures (no original to compare with)",
        "",
        "Bytes per frame per pixel: what a frame costs for its size (the originals above "
        "average about 0.03 for ours).",
        "",
    )
    report.table(
        ["figure", "kind", "frames", "px", "bytes", "bytes/frame/px"],
        new_rows,
        align=["---", "---", *["---:"] * 4],
    )


def scale(report: Report, work: Path, sizes: tuple[int, ...]) -> None:
    """Flat figures of growing inputs, channels and a matrix view, each in a fresh process."""
    from convgif.api import DEFAULT_MAX_FRAMES
    from convgif.spec import ConvSpec

    report.section("scale")
    baseline = run_python("import convgif.api, convgif.render, convgif.writers").peak_rss_mb
    cases: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for size in sizes:
        spec = {"input_size": size, "kernel_size": SCALE_KERNEL}
        steps = ConvSpec(**spec).step_count
        options = {"layout": "flat", "max_frames": max(DEFAULT_MAX_FRAMES, steps)}
        cases.append((f"scale_{size}", f"{size}×{size}", spec, options))
    cases += [(f"scale_extra_{k}", *case) for k, case in enumerate(SCALE_EXTRA)]
    rows = []
    for key, label, spec, options in cases:
        progress(f"scale: {label}")
        out = work / f"{key}.gif"
        arguments = (json.dumps(spec), json.dumps(options), str(SCALE_DRAW_SAMPLE), str(out))
        child = run_python(SCALE_CHILD, *arguments)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        frames, seconds, draw = int(result["frames"]), float(result["seconds"]), result["draw"]
        megapixels = result["width"] * result["height"] / 1e6
        report.numbers[f"{key}_peak_mb"] = child.peak_rss_mb
        report.numbers[f"{key}_ms"] = seconds / frames * 1000
        report.numbers[f"{key}_ms_per_mpx"] = seconds / frames * 1000 / megapixels
        rows.append(
            [
                label,
                str(frames),
                f"{result['width']}×{result['height']}",
                f"{frames / seconds:.0f}",
                _ms(seconds / frames),
                _ms(draw),
                _ms(seconds / frames - draw),
                f"{seconds / frames * 1000 / megapixels:.2f}",
                f"{child.wall_s:.1f}",
                f"{child.peak_rss_mb:.0f}",
                f"{result['bytes']:,}",
            ]
        )
        out.unlink()
    report.add(
        "## Scale",
        "",
        f"`--layout flat --kernel-size {SCALE_KERNEL}` for the square inputs, then "
        + ", ".join(
            f"{label} ({json.dumps(opts) if opts else 'defaults'})"
            for label, _, opts in SCALE_EXTRA
        )
        + "; one fresh process per figure, one run each. Frames per second and ms per frame "
        "are the figure's drawing and encoding (after a small warm-up figure; start-up "
        f"excluded). Draw: the first {SCALE_DRAW_SAMPLE} frames drawn again alone; encode: the "
        "rest. The image grows with the grid, so ms per frame per megapixel is what should "
        "stay flat. Peak memory is the whole process's; one that has only imported the "
        f"renderer peaks at {baseline:.0f} MB.",
        "",
    )
    report.table(
        [
            "figure",
            "frames",
            "pixels",
            "frames/s",
            "ms/frame",
            "draw",
            "encode",
            "ms/frame/Mpx",
            "process wall s",
            "peak MB",
            "bytes",
        ],
        rows,
    )


def start_up(report: Report, repeats: int) -> None:
    """Wall time of the start-up paths, and the heavy libraries they load."""
    report.section("start-up")
    commands = {
        "`python -c pass` (the interpreter alone)": [PYTHON, "-c", "pass"],
        '`python -c "import convgif"`': [PYTHON, "-c", "import convgif"],
        "`convgif --help`": [*convgif_command(), "--help"],
        '`python -c "import convgif.render"` (what drawing needs)': [
            PYTHON,
            "-c",
            "import convgif.render",
        ],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, list[float]] = {name: [] for name in commands}
    progress(f"start-up, {repeats}x each")
    for _ in range(repeats):
        for name, args in commands.items():  # interleaved, so drifting load hits all alike
            child = _checked(run_child(args), " ".join(args[-2:]))
            walls[name].append(child.wall_s)
            rss[name].append(child.peak_rss_mb)
    loaded_help = json.loads(run_python(MODULES_AFTER_HELP).stderr.strip().splitlines()[-1])
    loaded_import = json.loads(run_python(MODULES_AFTER_IMPORT).stdout.strip())

    def libs(loaded: dict[str, bool]) -> str:
        return ", ".join(k for k, v in loaded.items() if v) or "none"

    names = list(commands)
    loaded = {names[1]: libs(loaded_import), names[2]: libs(loaded_help)}
    rows = [
        [
            name,
            _ms(median(walls[name])),
            f"{median(rss[name]):.0f}",
            loaded.get(name, "matplotlib, numpy" if "render" in name else "none"),
        ]
        for name in names
    ]
    report.numbers.update(
        help_ms=median(walls[names[2]]) * 1000,
        import_ms=median(walls[names[1]]) * 1000,
        help_matplotlib=str(loaded_help["matplotlib"]),
        import_matplotlib=str(loaded_import["matplotlib"]),
    )
    n = report.number
    report.add(
        "## Start-up",
        "",
        f"Fresh processes, medians of {repeats}. Libraries: which of matplotlib, numpy and "
        "PIL are in `sys.modules` afterwards.",
        "",
    )
    report.table(["command", "wall ms", "peak MB", "heavy libraries loaded"], rows)
    report.add(
        "### Before the first frame",
        "",
        f"A fresh process that draws (medians of {repeats}): interpreter "
        f"{_ms(n('interpreter_s'))} ms, importing the renderer {_ms(n('import_render_s'))} ms, "
        f"the palette's lookup table {_ms(n('palette_table_s'))} ms (once per palette), "
        f"then the same 9-frame figure twice: {_ms(n('first_figure_s'))} ms, then "
        f"{_ms(n('second_figure_s'))} ms; after the last line, the interpreter takes "
        f"{_ms(n('exit_s'))} ms to exit ({_ms(n('exit_frozen_s'))} ms when `gc.freeze()` is "
        "called first, sparing the final garbage collection the objects matplotlib holds). "
        "A gallery worker pays start-up once (pool workers end without that exit); a Makefile "
        "calling `convgif render` per figure pays all of it per figure.",
        "",
    )


def checklist(report: Report) -> None:
    """The goals of issues 3, 6 and 16, with the measured values."""
    report.section("goals")
    n = report.numbers

    def mark(ok: bool) -> str:
        return "yes" if ok else "**no**"

    ms = report.number("ms_per_frame_median")
    window, new = report.number("ms_per_frame_window"), report.number("ms_per_frame_new")
    rows = [
        [
            f"≤ {GOAL_MS_PER_FRAME:.0f} ms per frame drawn and encoded (median of the gallery's "
            "figures)",
            f"{ms:.1f} ms",
            mark(ms <= GOAL_MS_PER_FRAME),
        ],
        [
            f"≤ {GOAL_MS_PER_FRAME_WINDOW:.0f} ms per frame, median of the window figures",
            f"{window:.1f} ms (native floor at least "
            f"{report.number('native_ms_per_frame_window'):.1f} ms)",
            mark(window <= GOAL_MS_PER_FRAME_WINDOW),
        ],
        [
            f"≤ {GOAL_MS_PER_FRAME_NEW:.0f} ms per frame, median of the other kinds (channels, "
            "im2col, matrix, scatter, stack)",
            f"{new:.1f} ms (native floor at least "
            f"{report.number('native_ms_per_frame_new'):.1f} ms)",
            mark(new <= GOAL_MS_PER_FRAME_NEW),
        ],
    ]
    if "yardstick_scale" in n:
        scale = report.number("yardstick_scale")
        for goal, measured, what in (
            (GOAL_MS_PER_FRAME_WINDOW, window, "window figures"),
            (GOAL_MS_PER_FRAME_NEW, new, "other kinds"),
        ):
            rows.append(
                [
                    f"… the same, {what}, on this machine: {goal:.0f} ms × {scale:.2f} "
                    f"(the yardstick: {report.number('yardstick_ms'):.2f} ms here, "
                    f"{YARDSTICK_MS_THEN} ms on {YARDSTICK_DATE})",
                    f"{measured:.1f} ms ≤ {goal * scale:.1f} ms",
                    mark(measured <= goal * scale),
                ]
            )
    pillow_ratio = report.number("pillow_ratio")
    rows.append(
        [
            f"the whole gallery on all cores (every figure drawn) in ≤ {GOAL_PILLOW_RATIO}× "
            "Pillow alone encoding its frames on one core",
            f"{report.number('gallery_all_s'):.2f} s ÷ {report.number('pillow_s'):.2f} s = "
            f"{pillow_ratio:.2f}×",
            mark(pillow_ratio <= GOAL_PILLOW_RATIO),
        ]
    )
    rows.append(
        [
            "… a second `convgif gallery`, every figure current",
            f"{report.number('gallery_current_s'):.2f} s = "
            f"{report.number('gallery_current_s') / report.number('pillow_s'):.2f}×",
            "(nearly free)",
        ]
    )
    if n.get("bytes_ratio") is not None:
        ratio = report.number("bytes_ratio")
        rows.append(
            [
                f"the {n['anchor_count']} original figures in ≤ {GOAL_BYTES_RATIO:.0%} of their "
                f"{int(report.number('bytes_anchor')):,} bytes",
                f"{int(report.number('bytes_ours')):,} bytes = {ratio:.1%}",
                mark(ratio <= GOAL_BYTES_RATIO and n["missing_figures"] == "none"),
            ]
        )
        rows.append(
            [
                "… at no smaller pixel size",
                f"smaller: {n['smaller_figures']}",
                mark(n["smaller_figures"] == "none"),
            ]
        )
    else:
        rows.append(["the original figures in ≤ 45 % of their bytes", "originals absent", "n/a"])
    if "new_bytes" in n:
        rows.append(
            [
                "the other figures' bytes (reported)",
                f"{int(report.number('new_count'))} figures, "
                f"{int(report.number('new_bytes')):,} bytes",
                "see Bytes",
            ]
        )
    if "scale_32_peak_mb" in n:
        peak = report.number("scale_32_peak_mb")
        rows.append(
            [
                f"32×32 input (900 frames) under {GOAL_PEAK_MB_32:.0f} MB peak",
                f"{peak:.0f} MB",
                mark(peak < GOAL_PEAK_MB_32),
            ]
        )
    flat = [key for key in n if key.endswith("_ms_per_mpx")]
    if flat:
        values = ", ".join(f"{report.number(key):.1f}" for key in flat)
        peaks = ", ".join(
            f"{report.number(key[: -len('_ms_per_mpx')] + '_peak_mb'):.0f}" for key in flat
        )
        rows.append(
            [
                "per-frame cost flat per megapixel, memory bounded (Scale's figures in order)",
                f"ms/frame/Mpx: {values}; peak MB: {peaks}",
                "see Scale",
            ]
        )
    rows.append(
        [
            "`convgif --help` and `import convgif` load no matplotlib",
            f"{report.number('help_ms'):.0f} ms and {report.number('import_ms'):.0f} ms, "
            f"matplotlib loaded: {n['help_matplotlib'].lower()}, "  # type: ignore[union-attr]
            f"{n['import_matplotlib'].lower()}",  # type: ignore[union-attr]
            mark(n["help_matplotlib"] == "False" and n["import_matplotlib"] == "False"),
        ]
    )
    report.add("", "## Goals", "")
    report.table(["goal", "measured", "met"], rows, align=["---", "---", "---"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one repeat, no 64x64; print only, no RESULTS.md"
    )
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    process_repeats = 1 if args.quick else 5  # whole processes vary more with machine load
    sizes = SCALE_SIZES[:-1] if args.quick else SCALE_SIZES
    report = Report()
    environment(report)
    with tempfile.TemporaryDirectory(prefix="convgif-bench-") as scratch:
        work = Path(scratch)
        outputs = whole_gallery(report, work, process_repeats)
        old_code = yardstick_code(work)
        yardstick_runs = [yardstick_ms(old_code, repeats, work)] if old_code else []
        draw_and_encode(report, work, repeats, outputs.get(1))
        if old_code:
            yardstick_runs.append(yardstick_ms(old_code, repeats, work))
        yardstick(report, yardstick_runs)
        formats(report, work, repeats)
        formats_by_kind(report, work)
        first_figure(report, process_repeats, work)
        floor(report)
        anchor_bytes(report, outputs.get(int(report.number("cores"))))
        scale(report, work, sizes)
        start_up(report, process_repeats)
    checklist(report)
    load = os.getloadavg()
    report.section("environment")
    report.add(f"- Load average at the end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    text = report.text()
    print(text, end="", flush=True)
    if not args.quick:
        RESULTS.write_text(text, encoding="utf-8")
        progress(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
