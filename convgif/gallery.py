"""The gallery: a TOML list of figures, rendered in parallel.

The list is data (``templates/gallery.toml``); this module reads it, checks
every entry, and renders the entries over a process pool. It prints nothing:
:func:`build_gallery` yields one :class:`FigureResult` per figure as each one
finishes, and the CLI reports them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import importlib
import json
import multiprocessing
import os
import signal
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convgif.errors import ConvgifError
from convgif.inputs import MAX_TEXT_BYTES, excerpt, is_inside, read_text, shown, shown_path
from convgif.interrupts import STOP_SIGNALS, stop_signals_handled
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover
    from convgif.stack import StackSpec

GALLERY_SUFFIX = ".gif"
MAX_NAME_BYTES = 255 - len(GALLERY_SUFFIX)  # a file name is at most 255 bytes
_SPEC_KEYS = frozenset(f.name for f in dataclasses.fields(ConvSpec) if f.init) - {"padding_name"}
_STACK_KEYS = frozenset({"input_size", "layers"})
_TOP_KEYS = ("defaults", "figure")
_ENTRY_KEYS = frozenset({"name", "caption", "spec", "stack", "render"})
# Render options that may name a file: resolved relative to the gallery's folder.
_PATH_KEYS = ("input_values", "kernel_values", "theme")
_STOP_GRACE_S = 2.0  # then a worker that has not exited is killed
# What a gallery folder remembers of its figures (see :func:`build_gallery`'s ``reuse``).
MANIFEST_NAME = ".convgif-manifest.json"
MANIFEST_FORMAT = 1
# Libraries whose version can change a figure's bytes (the renderer, its font, the encoder).
_BYTE_LIBRARIES = ("matplotlib", "numpy", "pillow")


class GalleryError(ConvgifError):
    """The gallery file itself cannot be used (missing, not TOML, unknown ``--only``)."""


@dataclass(frozen=True)
class FigureEntry:
    """One figure of the gallery, as listed in the TOML file.

    Attributes
    ----------
    name
        File name stem (``no_padding_no_strides``).
    caption
        Human caption, shown in the README.
    spec
        Keyword arguments of :class:`~convgif.spec.ConvSpec`.
    stack
        For a stack of layers (instead of ``spec``): ``input_size`` and
        ``layers``, the arguments of :meth:`convgif.stack.StackSpec.parse`
        (``layers``: one SPEC string per layer, bottom first); else None.
    render
        Keyword arguments of :class:`~convgif.api.RenderOptions`.
    error
        Why the entry cannot be rendered, or None.
    """

    name: str
    caption: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    render: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    stack: dict[str, Any] | None = None

    def stack_spec(self) -> StackSpec:
        """The entry's stack (raises as :meth:`StackSpec.parse` for a bad one)."""
        from convgif.stack import StackSpec

        stack = self.stack or {}
        return StackSpec.parse(stack.get("input_size"), stack.get("layers", []))

    @property
    def file_name(self) -> str:
        """The file this entry renders to."""
        return self.name + GALLERY_SUFFIX


@dataclass(frozen=True)
class FigureResult:
    """What rendering one entry gave: the file written, or the reason it failed."""

    name: str
    path: Path | None = None
    frame_count: int = 0
    size_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None
    current: bool = False  # already up to date (the manifest says so): not rendered again

    @property
    def ok(self) -> bool:
        """True when the figure was written."""
        return self.error is None


def default_gallery_path() -> Path:
    """``templates/gallery.toml`` of the templates directory in use."""
    from convgif.theme import templates_dir

    return templates_dir() / "gallery.toml"


def load_gallery(
    path: Path | None = None, *, allow_paths_outside: bool = False
) -> list[FigureEntry]:
    """Read the gallery list; a bad entry is kept, with its ``error`` set.

    File paths in an entry (``input_values``, ``kernel_values``, ``theme``)
    are read relative to the gallery's folder, and must stay inside it
    (symbolic links followed) unless ``allow_paths_outside``.

    Raises
    ------
    GalleryError
        If the file is missing, not a regular file, too large, not valid TOML,
        or not of the gallery's shape: top-level keys other than ``defaults``
        and ``figure``, no figures, ``figure`` not a list of tables,
        ``defaults`` other than a ``render`` table.
    """
    path = Path(path) if path is not None else default_gallery_path()
    text = read_text(path, "--gallery", MAX_TEXT_BYTES, GalleryError)
    where = f"--gallery: {shown_path(path)}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GalleryError(f"{where} is not valid TOML: {error}") from None
    unknown = sorted(shown(key) for key in set(data) - set(_TOP_KEYS))
    if unknown:
        raise GalleryError(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: [defaults], [[figure]])"
        )
    figures = data.get("figure", [])
    if not isinstance(figures, list) or not all(isinstance(raw, dict) for raw in figures):
        raise GalleryError(
            f"{where}: figure must be a list of [[figure]] tables, got {excerpt(figures)}"
        )
    if not figures:
        raise GalleryError(f"{where}: no figures; add [[figure]] tables")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - {"render"}:
        raise GalleryError(
            f"{where}: defaults must be a table holding only a render table, got "
            f"{excerpt(defaults)}"
        )
    render_defaults = defaults.get("render", {})
    if not isinstance(render_defaults, dict):
        raise GalleryError(
            f"{where}: defaults.render must be a table of render options, got "
            f"{excerpt(render_defaults)}"
        )
    folder = path.parent
    entries = []
    seen: set[str] = set()
    for position, raw in enumerate(figures, start=1):
        entry = _entry(raw, render_defaults, position, folder, allow_paths_outside)
        if entry.error is None and entry.name in seen:
            entry = dataclasses.replace(
                entry, error=f"the name {excerpt(entry.name)} is used twice"
            )
        seen.add(entry.name)
        entries.append(entry)
    return entries


def _name_error(name: object) -> str | None:
    """Why ``name`` cannot be a figure's file name, or None."""
    if not isinstance(name, str) or not name:
        return "needs a `name` usable as a file name"
    if "/" in name or os.sep in name or name.startswith(".") or not name.isprintable():
        return f"the name {excerpt(name)} is not a plain file name"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"the name {excerpt(name)} is longer than {MAX_NAME_BYTES} bytes"
    return None


def _entry(
    raw: dict[str, Any],
    defaults: dict[str, Any],
    position: int,
    folder: Path,
    allow_paths_outside: bool,
) -> FigureEntry:
    """Check one ``[[figure]]`` table without rendering it."""
    from convgif.api import RenderOptions

    name = raw.get("name")
    problem = _name_error(name)
    if problem is not None:
        return FigureEntry(name=f"figure #{position}", error=problem)
    assert isinstance(name, str)
    caption = raw.get("caption", "")
    spec = raw.get("spec", {})
    stack = raw.get("stack")
    render = raw.get("render", {})
    for key, value, kind in (
        ("caption", caption, str),
        ("spec", spec, dict),
        ("render", render, dict),
    ):
        if not isinstance(value, kind):
            expected = "a string" if kind is str else "a table"
            return FigureEntry(name=name, error=f"{key} must be {expected}, got {excerpt(value)}")
    if stack is not None and not isinstance(stack, dict):
        return FigureEntry(name=name, error="`stack` must be a table: { input_size, layers }")
    render = {**defaults, **render}
    entry = FigureEntry(name=name, caption=caption, spec=spec, render=render, stack=stack)
    render_keys = {f.name for f in dataclasses.fields(RenderOptions)}
    unknown = {shown(k) for k in set(raw) - _ENTRY_KEYS}
    unknown |= {f"spec.{shown(k)}" for k in set(spec) - _SPEC_KEYS}
    unknown |= {f"render.{shown(k)}" for k in set(render) - render_keys}
    if stack is not None:
        unknown |= {f"stack.{shown(k)}" for k in set(stack) - _STACK_KEYS}
    if unknown:
        return dataclasses.replace(entry, error=f"unknown key(s): {', '.join(sorted(unknown))}")
    if stack is not None and "spec" in raw:
        return dataclasses.replace(entry, error="give a `spec` or a `stack`, not both")
    render, problem = _resolve_paths(render, folder, allow_paths_outside)
    if problem is not None:
        return dataclasses.replace(entry, error=problem)
    entry = dataclasses.replace(entry, render=render)
    try:
        if stack is not None:
            entry.stack_spec()
        else:
            ConvSpec(**spec)
        RenderOptions(**render)
    except (TypeError, ValueError) as error:
        return dataclasses.replace(entry, error=str(error))
    return entry


def _resolve_paths(
    render: dict[str, Any], folder: Path, allow_paths_outside: bool
) -> tuple[dict[str, Any], str | None]:
    """The render options with their file paths made relative to the gallery's folder.

    Returns the options, and why they cannot be used (a path outside the
    folder) or None.
    """
    from convgif.theme import looks_like_path
    from convgif.values import names_a_file

    resolved = dict(render)
    for key in _PATH_KEYS:
        value = render.get(key)
        if not isinstance(value, str):
            continue
        if not (looks_like_path(value) if key == "theme" else names_a_file(value, folder)):
            continue  # a theme name, or inline values
        path = folder / value  # an absolute path stays as it is
        if not allow_paths_outside and not is_inside(path, folder):
            return render, (
                f"render.{key}: {shown(value)} is outside the gallery's folder "
                f"{shown_path(folder)}; pass --allow-paths-outside to read it"
            )
        resolved[key] = path
    return resolved, None


def select(entries: Sequence[FigureEntry], only: Sequence[str]) -> list[FigureEntry]:
    """The entries named in ``only`` (all when empty), in gallery order.

    Raises
    ------
    GalleryError
        If a name is not in the gallery.
    """
    if not only:
        return list(entries)
    names = {e.name for e in entries}
    missing = [n for n in only if n not in names]
    if missing:
        raise GalleryError(
            f"--only: no figure named {', '.join(map(repr, missing))} "
            f"(see `convgif gallery --list`)"
        )
    wanted = set(only)
    return [e for e in entries if e.name in wanted]


def render_entry(entry: FigureEntry, out_dir: Path) -> FigureResult:
    """Render one entry to ``out_dir``; never raises for a bad entry."""
    if entry.error is not None:
        return FigureResult(name=entry.name, error=entry.error)
    from convgif.api import RenderOptions, render_stack_to_file, render_to_file

    started = time.perf_counter()
    path, options = out_dir / entry.file_name, RenderOptions(**entry.render)
    try:
        if entry.stack is not None:
            written = render_stack_to_file(entry.stack_spec(), path, options)
        else:
            written = render_to_file(ConvSpec(**entry.spec), path, options)
    except (TypeError, ValueError, OSError) as error:
        return FigureResult(name=entry.name, error=str(error))
    return FigureResult(
        name=entry.name,
        path=written.path,
        frame_count=written.frame_count,
        size_bytes=written.size_bytes,
        seconds=time.perf_counter() - started,
    )


def default_jobs() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def build_gallery(
    entries: Sequence[FigureEntry],
    out_dir: Path,
    jobs: int | None = None,
    *,
    reuse: bool = False,
) -> Iterator[FigureResult]:
    """Render entries, yielding each result as it finishes.

    An interrupt (Ctrl-C, or the exception the CLI raises on SIGTERM and SIGHUP) or closing
    the generator stops at once: pending figures are cancelled and the
    workers stopped in the middle of their figures, whose temporary files are
    removed; nothing is written after it. An ``out_dir`` this made is removed
    again if nothing was written.

    Parameters
    ----------
    entries
        The figures to render.
    out_dir
        Directory for the files; created if missing.
    jobs
        Worker processes; 1 renders in this process (no pool).
    reuse
        Keep the figures that are already current: the folder's manifest
        (:data:`MANIFEST_NAME`) records, per figure, a digest of everything
        its bytes follow from (:func:`entry_digest`) and of the file written;
        a figure whose two digests still match is not drawn again (its result
        has ``current`` set). The manifest is rewritten (sorted keys, the same
        bytes for the same figures) when the run ends without an interrupt.
    """
    from convgif.writers import created_directory

    out_dir = Path(out_dir)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    with created_directory(out_dir):
        manifest = _Manifest.load(out_dir) if reuse else None
        todo: list[FigureEntry] = []
        for entry in entries:
            kept = manifest.current(entry, out_dir) if manifest is not None else None
            if kept is not None:
                yield kept
            else:
                todo.append(entry)
        if jobs == 1 or len(todo) <= 1:
            results: Iterator[FigureResult] = (render_entry(entry, out_dir) for entry in todo)
        else:
            results = _build_in_pool(todo, out_dir, jobs)
        for result in results:
            if manifest is not None:
                manifest.record(result)
            yield result
        if manifest is not None:
            manifest.save(out_dir)


def entry_digest(entry: FigureEntry) -> str | None:
    """SHA-256 of everything an entry's bytes follow from; None if it cannot be worked out.

    The spec or stack, the render options (a file they name by its contents),
    the theme as loaded (a theme inherits from the default theme's file), the
    source of the convgif package and the versions of the libraries that draw
    and encode (:data:`_BYTE_LIBRARIES`). Not the caption (the README's) nor
    any path: a fresh clone elsewhere gives the same digest.
    """
    from convgif.theme import load_theme

    if entry.error is not None:
        return None
    render: dict[str, Any] = {}
    try:
        for key, value in entry.render.items():
            if isinstance(value, Path):
                value = {"sha256": hashlib.sha256(value.read_bytes()).hexdigest()}
            render[key] = value
        theme = dataclasses.asdict(load_theme(entry.render.get("theme", "default")))
    except (OSError, ValueError):
        return None  # rendered (and its error reported) as usual
    description = {
        "spec": entry.spec,
        "stack": entry.stack,
        "render": render,
        "theme": theme,
        "code": _code_digest(),
        "libraries": _library_versions(),
    }
    text = json.dumps(description, sort_keys=True, ensure_ascii=True, default=repr)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """SHA-256 of the convgif package's Python files (paths and contents)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in _BYTE_LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class _Manifest:
    """The figures a gallery folder holds: per name, the entry's digest and the file's."""

    def __init__(self, figures: dict[str, dict[str, Any]]) -> None:
        self.figures = figures
        self.digests: dict[str, str | None] = {}  # of the entries seen in this run

    @classmethod
    def load(cls, out_dir: Path) -> _Manifest:
        """The folder's manifest; empty when missing or not readable (everything renders)."""
        try:
            data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls({})
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            return cls({})
        figures = data.get("figures")
        if not isinstance(figures, dict):
            return cls({})
        return cls({k: v for k, v in figures.items() if isinstance(v, dict)})

    def current(self, entry: FigureEntry, out_dir: Path) -> FigureResult | None:
        """The entry's result if its file is current, else None (it must be rendered)."""
        digest = self.digests[entry.name] = entry_digest(entry)
        known = self.figures.get(entry.name, {})
        if digest is None or known.get("entry") != digest:
            return None
        path = out_dir / entry.file_name
        if _file_digest(path) != known.get("sha256"):
            return None  # missing, or changed by hand
        return FigureResult(
            name=entry.name, path=path, frame_count=int(known.get("frames", 0)),
            size_bytes=path.stat().st_size, current=True,
        )  # fmt: skip

    def record(self, result: FigureResult) -> None:
        """Note a rendered figure (a failed one is forgotten: it renders next time)."""
        digest = self.digests.get(result.name)
        if not result.ok or result.path is None or digest is None:
            self.figures.pop(result.name, None)
            return
        self.figures[result.name] = {
            "entry": digest,
            "frames": result.frame_count,
            "sha256": _file_digest(result.path),
        }

    def save(self, out_dir: Path) -> None:
        from convgif.writers import atomic_path

        data = {"format": MANIFEST_FORMAT, "figures": self.figures}
        text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
        path = out_dir / MANIFEST_NAME
        if not path.exists() and not self.figures:
            return  # nothing written: no manifest either
        if path.exists() and path.read_text(encoding="utf-8", errors="replace") == text:
            return  # unchanged: not touched
        with atomic_path(path) as temporary:
            temporary.write_text(text, encoding="utf-8")


def _build_in_pool(
    entries: Sequence[FigureEntry], out_dir: Path, jobs: int
) -> Iterator[FigureResult]:
    # Largest figures first so the pool's tail is short.
    order = sorted(entries, key=_expected_cost, reverse=True)
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(entries)), mp_context=_pool_context(),
        initializer=_start_worker,
    )  # fmt: skip
    try:
        futures: dict[Future[FigureResult], FigureEntry] = {
            pool.submit(render_entry, entry, out_dir): entry for entry in order
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield _result(future, futures[future])
    except BaseException:
        # Ctrl-C, SIGTERM/SIGHUP raised by the CLI, or the caller closed the generator:
        # the pool's own shutdown would wait for every figure already handed out.
        with _stop_signals_ignored():
            _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _pool_context() -> Any:
    """Fork workers from this process with the renderer already imported, where fork is safe.

    Importing matplotlib takes about 0.4 s; forked workers start with it (and
    the writers, numpy, Pillow) loaded instead of each importing it again.
    Objects made so far are frozen out of the garbage collector, so the
    workers' collections do not touch (and copy) the parent's pages. Elsewhere
    (macOS, Windows) the platform's default start method.
    """
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return None
    for module in ("convgif.api", "convgif.render", "convgif.writers"):
        importlib.import_module(module)

    gc.freeze()
    return multiprocessing.get_context("fork")


def _result(future: Future[FigureResult], entry: FigureEntry) -> FigureResult:
    try:
        return future.result()
    except BrokenProcessPool:
        return FigureResult(name=entry.name, error="its worker process stopped unexpectedly")


def _start_worker() -> None:
    """Set up a worker process: a stop signal removes its temporary files and exits at once.

    Not an exception: the pool's worker loop catches every exception, even
    ``SystemExit``, around the figure and around sending its result back, and
    would go on to the next figure.
    """
    from convgif.writers import remove_temporaries

    def stop(signum: int, frame: object) -> None:
        remove_temporaries()
        os._exit(128 + signum)

    for signum in STOP_SIGNALS:  # the workers stop on these; the parent on these and Ctrl-C
        signal.signal(signum, stop)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and stop the workers in the middle of their figures."""
    # The pool has no public way to stop running tasks (terminate_workers() is 3.14+).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()  # SIGTERM: the worker removes its temporary file and exits
    deadline = time.monotonic() + _STOP_GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            process.kill()  # stuck in a long native call; its temporary file may remain
            process.join()
    pool.shutdown(wait=True)


def _ignore(signum: int, frame: object) -> None:
    """Do nothing (SIG_IGN would report a signal caught just before as a race condition)."""


def _stop_signals_ignored() -> contextlib.AbstractContextManager[None]:
    """Ignore a second Ctrl-C (or SIGTERM, SIGHUP) while the workers are being stopped."""
    return stop_signals_handled(_ignore)


# A figure that writes text each step (an equation, numbers, labels) costs about this
# many times the drawing of its cells (glyphs are laid out and rasterised each frame).
_TEXT_COST_FACTOR = 4


def _expected_cost(entry: FigureEntry) -> int:
    """Roughly how long an entry takes to render: steps × cells drawn, more with text."""
    from convgif.api import RenderOptions

    if entry.error is not None:
        return 0
    if entry.stack is not None:
        stack = entry.stack_spec()
        sizes = (stack.input_size, *stack.output_sizes)
        # Every stack step writes its receptive field under the figure.
        return _TEXT_COST_FACTOR * stack.step_count * (sum(h * w for h, w in sizes) + 1)
    spec = ConvSpec(**entry.spec)
    options = RenderOptions(**entry.render)
    rows, cols = spec.grid_size
    cells = rows * cols * spec.in_channels + 1
    if options.view != "window":
        cells *= spec.step_count  # a matrix view draws a row or a column per step
    texty = options.shows_numbers or options.labels or options.separable
    return (_TEXT_COST_FACTOR if texty else 1) * spec.step_count * cells
