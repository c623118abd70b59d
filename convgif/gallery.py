"""The gallery: a TOML list of figures, rendered in parallel.

The list is data (``templates/gallery.toml``); this module reads it, checks
every entry, and renders the entries over a process pool. It prints nothing:
:func:`build_gallery` yields one :class:`FigureResult` per figure as each one
finishes, and the CLI reports them.
"""

from __future__ import annotations

import dataclasses
import os
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convgif.errors import ConvgifError
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover
    from convgif.stack import StackSpec

GALLERY_SUFFIX = ".gif"
_SPEC_KEYS = frozenset(f.name for f in dataclasses.fields(ConvSpec) if f.init) - {"padding_name"}
_STACK_KEYS = frozenset({"input_size", "layers"})


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

    @property
    def ok(self) -> bool:
        """True when the figure was written."""
        return self.error is None


def default_gallery_path() -> Path:
    """``templates/gallery.toml`` of the templates directory in use."""
    from convgif.theme import templates_dir

    return templates_dir() / "gallery.toml"


def load_gallery(path: Path | None = None) -> list[FigureEntry]:
    """Read the gallery list; a bad entry is kept, with its ``error`` set.

    Raises
    ------
    GalleryError
        If the file is missing or is not valid TOML.
    """
    path = Path(path) if path is not None else default_gallery_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GalleryError(f"--gallery: no such file: {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GalleryError(f"--gallery: cannot read {path}: {error}") from None
    defaults = data.get("defaults", {}).get("render", {})
    entries = []
    seen: set[str] = set()
    for position, raw in enumerate(data.get("figure", []), start=1):
        entry = _entry(raw, defaults, position)
        if entry.error is None and entry.name in seen:
            entry = dataclasses.replace(entry, error=f"the name {entry.name!r} is used twice")
        seen.add(entry.name)
        entries.append(entry)
    return entries


def _entry(raw: dict[str, Any], defaults: dict[str, Any], position: int) -> FigureEntry:
    """Check one ``[[figure]]`` table without rendering it."""
    from convgif.api import RenderOptions

    name = raw.get("name")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        return FigureEntry(name=f"figure #{position}", error="needs a `name` usable as a file name")
    unknown = set(raw) - {"name", "caption", "spec", "stack", "render"}
    spec = raw.get("spec", {})
    stack = raw.get("stack")
    render = {**defaults, **raw.get("render", {})}
    render_keys = {f.name for f in dataclasses.fields(RenderOptions)}
    unknown |= {f"spec.{k}" for k in set(spec) - _SPEC_KEYS}
    unknown |= {f"render.{k}" for k in set(render) - render_keys}
    if stack is not None and not isinstance(stack, dict):
        return FigureEntry(name=name, error="`stack` must be a table: { input_size, layers }")
    if stack is not None:
        unknown |= {f"stack.{k}" for k in set(stack) - _STACK_KEYS}
    entry = FigureEntry(
        name=name, caption=str(raw.get("caption", "")), spec=spec, render=render, stack=stack
    )
    if unknown:
        return dataclasses.replace(entry, error=f"unknown key(s): {', '.join(sorted(unknown))}")
    if stack is not None and "spec" in raw:
        return dataclasses.replace(entry, error="give a `spec` or a `stack`, not both")
    try:
        if stack is not None:
            entry.stack_spec()
        else:
            ConvSpec(**spec)
        RenderOptions(**render)
    except (TypeError, ValueError) as error:
        return dataclasses.replace(entry, error=str(error))
    return entry


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
    entries: Sequence[FigureEntry], out_dir: Path, jobs: int | None = None
) -> Iterator[FigureResult]:
    """Render entries, yielding each result as it finishes.

    Parameters
    ----------
    entries
        The figures to render.
    out_dir
        Directory for the files; created if missing.
    jobs
        Worker processes; 1 renders in this process (no pool).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1 or len(entries) <= 1:
        for entry in entries:
            yield render_entry(entry, out_dir)
        return
    # Largest figures first so the pool's tail is short.
    order = sorted(entries, key=_expected_cost, reverse=True)
    with ProcessPoolExecutor(max_workers=min(jobs, len(entries))) as pool:
        pending: set[Future[FigureResult]] = {
            pool.submit(render_entry, entry, out_dir) for entry in order
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()


def _expected_cost(entry: FigureEntry) -> int:
    if entry.error is not None:
        return 0
    if entry.stack is not None:
        stack = entry.stack_spec()
        sizes = (stack.input_size, *stack.output_sizes)
        return stack.step_count * (sum(h * w for h, w in sizes) + 1)
    spec = ConvSpec(**entry.spec)
    rows, cols = spec.grid_size
    return spec.step_count * (rows * cols + 1)
