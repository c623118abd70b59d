"""The figure description: what a figure shows, as plain data.

A :class:`Figure` is a list of named :class:`Grid` s (rows × cols of cells,
each with a fill, some with text) and a list of :class:`Step` s, one per
frame. A step lists the marks drawn at that step only (shaded cells, a window
outline, connector lines, text, a ring) and the marks it *reveals*: shown
from that step on (a computed output value). An equation may be written
under the figure at each step.

Nothing here knows how or where a figure is drawn: :mod:`convgif.layout`
places the grids, :mod:`convgif.render` draws the marks, and the builders in
this package (:mod:`convgif.figures.window`, ...) make the descriptions. The
module is pure Python, so a description can be built, tested and written to
JSON without matplotlib.

Colours are *roles*, resolved by the theme: a cell fill is ``"input"``,
``"output"``, ``"red"``, ``"green"``, ``"blue"`` or None (an empty cell:
padding, an inserted zero; drawn with a dashed border).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

Cell = tuple[int, int]
Box = tuple[int, int, int, int]  # top, left, bottom, right in cells; bottom/right exclusive

FILLS = ("input", "output", "red", "green", "blue")
# What a text is: a cell's value (centred), a faint value (padding, inserted
# zeros), a kernel weight (small, in the cell's lower-right corner).
TextRole = Literal["value", "faint", "weight"]
TEXT_ROLES: tuple[str, ...] = ("value", "faint", "weight")
Arrangement = Literal["stack", "row", "column"]
LINK_STYLES = ("corners", "centre")


class FigureError(ValueError):
    """A figure description that is not consistent (a builder's bug, not user input)."""


@dataclass(frozen=True)
class Grid:
    """One grid of cells.

    Attributes
    ----------
    name
        Unique in its figure; marks name the grid they are on.
    rows, cols
        Size in cells.
    fills
        Row-major fill role of every cell (see :data:`FILLS`), None for an empty
        cell (drawn with a dashed border where no filled cell touches it).
    level, index
        Placement: grids of one level are a deck (channels) or a group; levels
        go bottom to top in the oblique layout, in reading order when flat.
    label
        Text beside the grid (``"input 5×5"``), drawn when labels are on.
    """

    name: str
    rows: int
    cols: int
    fills: tuple[str | None, ...]
    level: int = 0
    index: int = 0
    label: str | None = None

    def __post_init__(self) -> None:
        if self.rows < 1 or self.cols < 1:
            raise FigureError(f"grid {self.name!r}: size {self.rows}x{self.cols}")
        if len(self.fills) != self.rows * self.cols:
            raise FigureError(f"grid {self.name!r}: {len(self.fills)} fills for {self.size} cells")
        for fill in self.fills:
            if fill is not None and fill not in FILLS:
                raise FigureError(f"grid {self.name!r}: unknown fill {fill!r}")

    @classmethod
    def filled(cls, name: str, rows: int, cols: int, fill: str | None, **kwargs: Any) -> Grid:
        """A grid whose cells all have one fill."""
        return cls(name, rows, cols, (fill,) * (rows * cols), **kwargs)

    @property
    def size(self) -> str:
        """``"RxC"``."""
        return f"{self.rows}x{self.cols}"

    def fill(self, cell: Cell) -> str | None:
        """The fill role of one cell."""
        return self.fills[cell[0] * self.cols + cell[1]]

    def contains(self, cell: Cell) -> bool:
        """Whether a cell lies in the grid."""
        return 0 <= cell[0] < self.rows and 0 <= cell[1] < self.cols


@dataclass(frozen=True)
class Shade:
    """Cells shaded (the kernel window's taps, the current output cell), with borders."""

    grid: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Outline:
    """A rectangle's outline around cells (the window's extent)."""

    grid: str
    box: Box


@dataclass(frozen=True)
class Link:
    """Connector lines from the four corners of one box to those of another.

    Drawn thin; hidden where a grid drawn above them covers them (oblique
    view) and wherever they would cross a text.

    Attributes
    ----------
    style
        ``corners``: the four corner lines (the window's pyramid; in the
        flat view the two between the boxes' facing sides); ``centre``: one
        line between the boxes' centres, from and to the middles of the
        sides that face the other grid in the flat view (a 1-D stack's unit
        reading a unit below).
    """

    source: str
    source_box: Box
    target: str
    target_box: Box
    style: str = "corners"

    def __post_init__(self) -> None:
        if self.style not in LINK_STYLES:
            raise FigureError(f"unknown link style {self.style!r} (known: {LINK_STYLES})")


@dataclass(frozen=True)
class Text:
    """A text in a cell.

    Attributes
    ----------
    on_shade
        The cell is shaded at the steps the text shows: its colour is picked
        to read on the shaded fill.
    """

    grid: str
    cell: Cell
    text: str
    role: str = "value"
    on_shade: bool = False


@dataclass(frozen=True)
class Ring:
    """A ring around one cell's value (max pooling's winner)."""

    grid: str
    cell: Cell


Mark = Shade | Outline | Link | Text | Ring
_MARK_TYPES: dict[str, type] = {t.__name__.lower(): t for t in (Shade, Outline, Link, Text, Ring)}


@dataclass(frozen=True)
class Step:
    """One frame.

    Attributes
    ----------
    marks
        Drawn at this step only, in this order (later marks over earlier ones;
        texts and rings over shapes).
    reveals
        Shown from this step on, at every later step too, under the marks.
    equation
        The step's arithmetic, written under the figure (or None).
    """

    marks: tuple[Mark, ...] = ()
    reveals: tuple[Mark, ...] = ()
    equation: str | None = None


@dataclass(frozen=True)
class Figure:
    """A whole figure: grids, static texts, steps, and its words.

    Attributes
    ----------
    grids
        Drawn in this order (later grids over earlier ones).
    texts
        Static texts (cell values that never change).
    steps
        One per frame.
    caption
        Lines written under the figure when the caption is on.
    arrangement
        How levels are placed: ``stack`` (the guide's view: levels one above
        the other when oblique, left to right when flat), ``row`` (left to
        right, top-aligned: matrices), ``column`` (bottom to top: 1-D stacks).
    title
        A short name of the figure (alt text, the HTML player's title).
    """

    grids: tuple[Grid, ...]
    steps: tuple[Step, ...]
    texts: tuple[Text, ...] = ()
    caption: str | None = None
    arrangement: Arrangement = "stack"
    title: str = ""
    _by_name: dict[str, Grid] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {grid.name: grid for grid in self.grids}
        if len(by_name) != len(self.grids):
            raise FigureError("grid names must be unique")
        if not self.steps:
            raise FigureError("a figure has at least one step")
        object.__setattr__(self, "_by_name", by_name)

    def grid(self, name: str) -> Grid:
        """The grid of that name."""
        try:
            return self._by_name[name]
        except KeyError:
            raise FigureError(f"no grid named {name!r}") from None

    def __len__(self) -> int:
        return len(self.steps)

    def all_texts(self) -> list[Text]:
        """Every text of the figure: static, marked and revealed (for fitting font sizes)."""
        texts = list(self.texts)
        for step in self.steps:
            texts += [m for m in (*step.marks, *step.reveals) if isinstance(m, Text)]
        return texts

    def check(self) -> None:
        """Raise :class:`FigureError` if a mark names a missing grid or a cell outside it."""
        for mark in self.all_marks():
            for name, cells in _mark_cells(mark):
                grid = self.grid(name)
                for cell in cells:
                    if not grid.contains(cell):
                        raise FigureError(f"{type(mark).__name__} outside grid {name!r}: {cell}")

    def all_marks(self) -> list[Mark]:
        """Every mark, static texts included."""
        marks: list[Mark] = list(self.texts)
        for step in self.steps:
            marks += [*step.marks, *step.reveals]
        return marks

    # -- JSON ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return {
            "grids": [_plain(grid) for grid in self.grids],
            "texts": [_mark_dict(t) for t in self.texts],
            "steps": [
                {
                    "marks": [_mark_dict(m) for m in step.marks],
                    "reveals": [_mark_dict(m) for m in step.reveals],
                    "equation": step.equation,
                }
                for step in self.steps
            ],
            "caption": self.caption,
            "arrangement": self.arrangement,
            "title": self.title,
        }

    def to_json(self) -> str:
        """The description as compact JSON text."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        """Read a figure written by :meth:`to_dict`."""
        grids = tuple(
            Grid(**{**g, "fills": tuple(g["fills"])}) for g in data["grids"]
        )  # fmt: skip
        steps = tuple(
            Step(
                marks=tuple(_mark_from(m) for m in s["marks"]),
                reveals=tuple(_mark_from(m) for m in s["reveals"]),
                equation=s.get("equation"),
            )
            for s in data["steps"]
        )
        return cls(
            grids=grids,
            steps=steps,
            texts=tuple(_mark_from(m) for m in data.get("texts", [])),  # type: ignore[misc]
            caption=data.get("caption"),
            arrangement=data.get("arrangement", "stack"),
            title=data.get("title", ""),
        )

    @classmethod
    def from_json(cls, text: str) -> Figure:
        """Read a figure written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


def _mark_cells(mark: Mark) -> list[tuple[str, list[Cell]]]:
    """The cells a mark touches, per grid (box corners as their last cells)."""
    if isinstance(mark, Shade):
        return [(mark.grid, list(mark.cells))]
    if isinstance(mark, (Text, Ring)):
        return [(mark.grid, [mark.cell])]
    if isinstance(mark, Outline):
        return [(mark.grid, _box_cells(mark.box))]
    return [(mark.source, _box_cells(mark.source_box)), (mark.target, _box_cells(mark.target_box))]


def _box_cells(box: Box) -> list[Cell]:
    top, left, bottom, right = box
    if bottom <= top or right <= left:
        raise FigureError(f"empty box {box}")
    return [(top, left), (bottom - 1, right - 1)]


def _plain(obj: Any) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        out[f.name] = _listed(value)
    return out


def _listed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


def _mark_dict(mark: Mark) -> dict[str, Any]:
    return {"mark": type(mark).__name__.lower(), **_plain(mark)}


def _tupled(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value


def _mark_from(data: dict[str, Any]) -> Mark:
    data = dict(data)
    kind = _MARK_TYPES.get(data.pop("mark", None))
    if kind is None:
        raise FigureError(f"unknown mark in {data!r}")
    return kind(**{key: _tupled(value) for key, value in data.items()})  # type: ignore[no-any-return]


def box_of(cells: tuple[Cell, ...] | list[Cell]) -> Box:
    """The smallest box holding cells."""
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    return (min(rows), min(cols), max(rows) + 1, max(cols) + 1)
