"""Write frames to files: GIF and APNG (streamed), WebP, PNG stills and folders, figures.

The writers know nothing of convolutions. A frame is a ``uint8`` numpy array,
``H×W×4`` (RGBA) or ``H×W×3`` (RGB); every frame of one animation has the same
size. Frames may be one reused buffer: each frame is consumed (mapped or
copied) before the next one is requested.

MP4 and WebM video go through imageio's ffmpeg plugin (:func:`write_video`);
the HTML player is in :mod:`convgif.player`.

Every file is written to a temporary file in the target directory and renamed
onto the target only when complete (:func:`atomic_path`), so an error or Ctrl-C
leaves no partial file and never clobbers a good one. Files carry no
timestamps and no version stamps: the same frames give the same bytes.

Colours are mapped to a palette (the renderer's theme colours and their
blends) by nearest colour, without dithering, through a lookup table built once
per palette (:class:`PaletteMapper`). The streamed writers compare each frame
with the previous one first and map only the rows that changed, within the
columns that changed: an animation changes a small part of each frame.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import os
import re
import secrets
import shutil
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from convgif.errors import ConvgifError

if TYPE_CHECKING:  # pragma: no cover - typing only; PIL and matplotlib load lazily
    from matplotlib.figure import Figure
    from PIL import Image

ANIMATION_SUFFIXES: tuple[str, ...] = (".gif", ".png", ".webp")
STILL_SUFFIXES: tuple[str, ...] = (".png", ".svg", ".pdf")
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".webm")  # :func:`write_video`
PLAYER_SUFFIXES: tuple[str, ...] = (".html",)  # :func:`convgif.player.write_player`

MAX_PALETTE_COLOURS = 255  # one GIF colour-table entry stays free for transparency
MIN_FRAME_DIGITS = 3  # step_000.png: fixed-width names for LaTeX's animate package
MAX_NAME_BYTES = 255  # a file name (one path component) on Linux, macOS and Windows file systems


class OutputError(ConvgifError):
    """An output path or option that cannot be written; the message starts with the option."""


@dataclass(frozen=True)
class Written:
    """What a writer wrote.

    Attributes
    ----------
    path
        The file (or, for :func:`write_frames`, the directory) written.
    frame_count
        Frames given and written.
    size_bytes
        Bytes on disk (all frame files together for a directory).
    """

    path: Path
    frame_count: int
    size_bytes: int


# --------------------------------------------------------------------------------------
# Paths


def _suffix_list(suffixes: tuple[str, ...]) -> str:
    animated = ".gif" in suffixes  # in an animation context .png means APNG
    names = [f"{s} (APNG)" if s == ".png" and animated else s for s in suffixes]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" or {names[-1]}"


def check_output_path(
    path: str | os.PathLike[str],
    suffixes: tuple[str, ...] = ANIMATION_SUFFIXES,
    option: str = "--output",
) -> Path:
    """Check that ``path`` can be written, before anything is rendered.

    Parameters
    ----------
    path
        The file to write.
    suffixes
        The accepted suffixes (compared case-insensitively).
    option
        The command-line option named in error messages.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        Unknown suffix, missing or unwritable parent directory, or ``path`` is a
        directory.
    """
    target = Path(path)
    if "\x00" in str(target):
        raise OutputError(f"{option}: the path contains a NUL character")
    if len(os.fsencode(target.name)) > MAX_NAME_BYTES:
        raise OutputError(
            f"{option}: the file name is longer than {MAX_NAME_BYTES} bytes, the most a "
            f"directory entry holds"
        )
    suffix = target.suffix.lower()
    if suffix not in suffixes:
        shown = f"unknown suffix {suffix!r}" if suffix else f"no suffix in {str(target)!r}"
        raise OutputError(f"{option}: {shown}; use {_suffix_list(suffixes)}")
    parent = target.parent
    try:
        if target.is_dir():
            raise OutputError(f"{option}: {str(target)!r} is a directory")
        if not parent.is_dir():
            raise OutputError(f"{option}: directory {str(parent)!r} does not exist")
    except OSError as error:  # a folder name too long, a loop of links
        raise OutputError(f"{option}: cannot use {str(target)!r}: {error.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option}: directory {str(parent)!r} is not writable")
    return target


# Temporary files and folders of writes in progress in this process; what
# remove_temporaries() removes. Each is listed before it is made, so a stop at
# any moment finds it.
_IN_PROGRESS: set[Path] = set()


def remove_temporaries() -> None:
    """Remove the temporary files and folders of every write in progress in this process.

    For a process that must stop at once, without unwinding (a gallery worker
    on a signal), and at exit, should a second interrupt have cut a write's own
    cleanup short.
    """
    for path in list(_IN_PROGRESS):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        _IN_PROGRESS.discard(path)


atexit.register(remove_temporaries)


def _create_exclusive(directory: Path, prefix: str, suffix: str) -> Path:
    # O_EXCL with mode 0o666 lets the umask decide permissions, like a plain open();
    # mkstemp would leave the finished file private (0o600).
    while True:
        candidate = directory / f"{prefix}{secrets.token_hex(4)}{suffix}"
        _IN_PROGRESS.add(candidate)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            _IN_PROGRESS.discard(candidate)  # someone else's
            continue
        except BaseException:
            _IN_PROGRESS.discard(candidate)
            raise
        os.close(fd)
        return candidate


TEMPORARY_PREFIX = ".cg-"  # short: a target name of up to 255 bytes still gets a temporary
_TEMPORARY_SUFFIX_CHARS = 8  # a longer suffix is dropped from the temporary name


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary file is hidden and short (``.cg-1a2b3c4d.tmp.gif``, whatever
    the length of ``path``'s name) and keeps ``path``'s suffix, so libraries
    that choose a format by suffix still work. On any exception,
    ``KeyboardInterrupt`` included, the temporary file is removed and ``path``
    is left untouched. An ``OSError`` about the temporary file, or about no
    file (a full disk while writing), is raised about ``path``.
    """
    target = Path(path)
    suffix = target.suffix if len(target.suffix) <= _TEMPORARY_SUFFIX_CHARS else ""
    try:
        temporary = _create_exclusive(target.parent, TEMPORARY_PREFIX, f".tmp{suffix}")
    except OSError as error:
        raise _naming(error, target) from None
    try:
        yield temporary
        os.replace(temporary, target)
        _IN_PROGRESS.discard(temporary)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        _IN_PROGRESS.discard(temporary)  # only once it is gone (a second interrupt)
        if isinstance(error, OSError) and error.filename in (None, str(temporary)):
            raise _naming(error, target) from None
        raise


def _naming(error: OSError, target: Path) -> OSError:
    """The same error about ``target``: the user never sees the temporary name."""
    return type(error)(error.errno, error.strerror or str(error), str(target))


@contextlib.contextmanager
def created_directory(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Make ``directory`` and its missing parents; on failure remove those left empty.

    On any exception, ``KeyboardInterrupt`` included, the directories this made
    are removed again, innermost first, as long as they are empty: a run that
    wrote nothing leaves nothing behind.
    """
    target = Path(directory)
    missing = list(itertools.takewhile(lambda p: not p.exists(), (target, *target.parents)))
    target.mkdir(parents=True, exist_ok=True)
    try:
        yield target
    except BaseException:
        for made in missing:  # innermost first
            try:
                made.rmdir()  # only succeeds when empty
            except OSError:
                break
        raise


@contextlib.contextmanager
def _atomic_directory(directory: Path) -> Iterator[Path]:
    """Yield a temporary directory inside ``directory``; on failure remove it.

    On success the caller moves the files in; this only cleans up. Directories
    created here are removed again on failure if they are left empty.
    """
    with created_directory(directory):
        temporary = directory / f"{TEMPORARY_PREFIX}{secrets.token_hex(4)}.tmp"
        _IN_PROGRESS.add(temporary)
        try:
            temporary.mkdir()
            yield temporary
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
            _IN_PROGRESS.discard(temporary)


# --------------------------------------------------------------------------------------
# Frames and palettes


def _check_frame(frame: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    array = np.asarray(frame)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(
            f"a frame must be a uint8 array of shape H×W×3 or H×W×4, "
            f"not {array.dtype} {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"a frame must not be empty, got shape {array.shape}")
    if shape is not None and array.shape[:2] != shape[:2]:
        raise ValueError(
            f"every frame must have the same size: {array.shape[1]}×{array.shape[0]} "
            f"after {shape[1]}×{shape[0]}"
        )
    return array


def _check_palette(palette: Any) -> np.ndarray:
    array = np.asarray(palette)
    if array.ndim != 2 or array.shape[1] != 3 or not 1 <= len(array) <= MAX_PALETTE_COLOURS:
        raise ValueError(
            f"a palette must have shape (N, 3) with 1 <= N <= {MAX_PALETTE_COLOURS}, "
            f"not {array.shape}"
        )
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255:
            raise ValueError("palette colours must be integers in 0..255")
        array = array.astype(np.uint8)
    return np.ascontiguousarray(array)


def _opaque(frame: np.ndarray) -> np.ndarray:
    """The mask of pixels drawn opaque when transparency is on (alpha >= 128)."""
    if frame.shape[2] == 3:
        return np.ones(frame.shape[:2], dtype=bool)
    return frame[..., 3] >= 128


def palette_from_frame(frame: np.ndarray, *, transparent: bool = False) -> np.ndarray:
    """A palette of at most 255 colours for ``frame``.

    Its exact colours (sorted) when there are few enough, else Pillow's
    median-cut quantisation without dithering. With ``transparent``, pixels of
    alpha < 128 are left out.
    """
    frame = _check_frame(frame)
    rgb = frame[..., :3]
    if transparent:
        rgb = rgb[_opaque(frame)]
        if rgb.size == 0:
            return np.zeros((1, 3), dtype=np.uint8)
    rgb = rgb.reshape(-1, 3)
    packed = rgb[:, 0].astype(np.uint32) << 16 | rgb[:, 1].astype(np.uint32) << 8 | rgb[:, 2]
    colours = np.unique(packed)
    if len(colours) <= MAX_PALETTE_COLOURS:
        shifts = np.array([16, 8, 0], dtype=np.uint32)
        return ((colours[:, None] >> shifts) & 0xFF).astype(np.uint8)
    from PIL import Image

    strip = Image.frombytes("RGB", (len(rgb), 1), np.ascontiguousarray(rgb).tobytes())
    quantised = strip.quantize(colors=MAX_PALETTE_COLOURS, dither=Image.Dither.NONE)
    used = len(quantised.getcolors(MAX_PALETTE_COLOURS + 1) or ())
    flat = quantised.getpalette() or [0, 0, 0]
    return np.array(flat[: 3 * max(used, 1)], dtype=np.uint8).reshape(-1, 3)


_CELL_BITS = 6  # bits kept per channel in the lookup table: 64³ = 262144 cells
_LOW_BITS = 8 - _CELL_BITS  # bits resolved exactly inside a cell
_CELL_WIDTH = 1 << _LOW_BITS  # colours per channel in one cell


def _nearest_to_cell_centres(palette: np.ndarray) -> np.ndarray:
    """Index of the palette colour nearest each cell centre, in cell-key order.

    One pass over the 64³ grid per palette colour, keeping a running minimum
    of ``distance · 256 + index`` (one key holds both, so the minimum is one
    comparison a cell and ties go to the lowest index); the squared distance
    is separable, so each pass is a broadcast sum of three 64-vectors.
    Coordinates are doubled to keep the centres integers. The largest key,
    ``3 · 510² · 256 + 254``, fits in an int32.
    """
    levels = 1 << _CELL_BITS
    centres = np.arange(levels, dtype=np.int32) * (2 * _CELL_WIDTH) + (_CELL_WIDTH - 1)
    best = np.full((levels,) * 3, np.iinfo(np.int32).max, dtype=np.int32)  # [b, g, r]
    key = np.empty_like(best)
    for index, colour in enumerate(palette.astype(np.int32) * 2):
        red, green, blue = (((centres - channel) ** 2) << 8 for channel in colour)
        np.add((blue + index)[:, None, None], (green[:, None] + red[None, :])[None], out=key)
        np.minimum(best, key, out=best)
    return (best & 0xFF).astype(np.uint8).reshape(-1)


def _nearest(colours: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the palette colour nearest each of a few colours (exact, ties lowest)."""
    differences = colours.astype(np.int32)[:, None, :] - palette.astype(np.int32)[None]
    return (differences**2).sum(axis=2).argmin(axis=1).astype(np.uint8)


def _cell_keys(rgb: np.ndarray) -> np.ndarray:
    """Lookup-table cell of each colour: 6 high bits of r, g, b packed (r lowest)."""
    shift = _LOW_BITS
    keys = (rgb[..., 0] >> shift).astype(np.uint32)
    keys |= (rgb[..., 1] >> shift).astype(np.uint32) << _CELL_BITS
    keys |= (rgb[..., 2] >> shift).astype(np.uint32) << (2 * _CELL_BITS)
    return keys


class PaletteMapper:
    """Nearest-colour mapping to one palette, without dithering.

    Built once per palette: for each cell of 4×4×4 colours (64³ cells), the
    palette colour nearest the cell's centre, expanded to a table over all 2²⁴
    colours (16 MB) so that mapping a frame is one ``take``. Cells that hold a
    palette colour the centre rule would not return (two palette colours in one
    cell, or a neighbour nearer the centre) are resolved exactly, colour by
    colour, so every palette colour maps to itself. Elsewhere the colour chosen
    is at most ``2·√3·1.5 ≈ 5.2`` farther than the true nearest one.

    Parameters
    ----------
    palette
        ``(N, 3)`` colours, ``N <= 255``.
    """

    def __init__(self, palette: np.ndarray) -> None:
        self.palette = _check_palette(palette)
        self.palette.setflags(write=False)
        coarse = _nearest_to_cell_centres(self.palette)
        levels, width = 1 << _CELL_BITS, _CELL_WIDTH
        # Full table indexed by r | g << 8 | b << 16, i.e. [b][g][r], each split into
        # (cell level, offset inside the cell).
        table = np.empty((levels, width) * 3, dtype=np.uint8)
        # Widen each row of cells along r first (1 MB), then copy whole rows into the
        # 16 MB table: one broadcast of single bytes into the 6-d table took ~20x longer.
        rows = np.repeat(coarse.reshape(levels * levels, levels), width, axis=1)
        flat_rows = table.reshape(levels, width, levels, width, levels * width)
        flat_rows[...] = rows.reshape(levels, 1, levels, 1, levels * width)
        palette_cells = _cell_keys(self.palette)
        low = np.arange(width**3)
        offsets = np.stack([(low >> (_LOW_BITS * c)) & (width - 1) for c in range(3)], axis=1)
        self.exact_cells = 0  # cells resolved colour by colour
        for cell in np.unique(palette_cells):
            members = np.flatnonzero(palette_cells == cell)
            if len(members) == 1 and coarse[cell] == members[0]:
                continue
            red, green, blue = ((int(cell) >> (_CELL_BITS * c)) & (levels - 1) for c in range(3))
            corner = np.array([red, green, blue]) * width
            exact = _nearest(corner + offsets, self.palette)  # offsets run r fastest
            table[blue, :, green, :, red, :] = exact.reshape(width, width, width)
            self.exact_cells += 1
        self._table = table.reshape(-1)

    def __len__(self) -> int:
        return len(self.palette)

    def indices(self, frame: np.ndarray) -> np.ndarray:
        """Palette index of every pixel of an RGB(A) ``uint8`` frame (alpha ignored).

        Returns
        -------
        numpy.ndarray
            ``H×W`` ``uint8`` indices.
        """
        frame = np.asarray(frame)
        words = _rgba_words(frame)
        if words is not None:
            keys = words & np.uint32(0xFFFFFF)
        else:
            keys = frame[..., 0].astype(np.uint32)
            keys |= frame[..., 1].astype(np.uint32) << 8
            keys |= frame[..., 2].astype(np.uint32) << 16
        return np.take(self._table, keys)

    def colours(self, frame: np.ndarray) -> np.ndarray:
        """``frame``'s RGB with every pixel replaced by its palette colour."""
        return self.palette[self.indices(frame)]


def _rgba_words(frame: np.ndarray) -> np.ndarray | None:
    """An RGBA frame (or a window of one) seen as one little-endian ``uint32`` per pixel.

    ``r | g << 8 | b << 16 | a << 24``, without copying; None for RGB frames or
    when a pixel's four bytes are not adjacent.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 4:
        return None
    if frame.strides[2] != 1:
        return None
    return frame.view("<u4")[..., 0]


def _changed_pixels(
    previous: np.ndarray, frame: np.ndarray, scratch: np.ndarray | None = None
) -> np.ndarray:
    """``H×W`` bool mask of the pixels that differ between two frames of one size.

    ``scratch``: an ``H×W`` bool array (or view) to compare into, returned (a fresh
    array per frame costs page faults on large frames).
    """
    before, after = _rgba_words(previous), _rgba_words(frame)
    if before is not None and after is not None:
        return np.not_equal(before, after, out=scratch)  # one comparison per pixel, not four
    return np.any(previous != frame, axis=2, out=scratch)


def _changed_box(
    previous: np.ndarray, frame: np.ndarray, scratch: np.ndarray | None = None
) -> tuple[int, int, int, int]:
    """``(left, top, width, height)`` of the pixels that differ; ``(0, 0, 0, 0)`` if none.

    ``scratch``: as for :func:`_changed_pixels`.
    """
    return _bounding_box(_changed_pixels(previous, frame, scratch)) or (0, 0, 0, 0)


def _bands(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(left, top, width, height)`` that hold every true pixel of ``mask``.

    One box per run of rows holding any, as narrow as those rows allow: an
    animation's changes are often far apart (a window at the bottom, its output
    at the top), and the rows between them need no mapping. Empty for no change.
    """
    rows = np.concatenate(([False], mask.any(axis=1), [False]))
    edges = np.flatnonzero(rows[1:] != rows[:-1])  # each run's first row and the row after it
    bands = []
    for top, bottom in edges.reshape(-1, 2).tolist():
        cols = np.flatnonzero(mask[top:bottom].any(axis=0))
        left = int(cols[0])
        bands.append((left, top, int(cols[-1]) + 1 - left, bottom - top))
    return bands


def _where(keep: np.ndarray, indices: np.ndarray, clear: int) -> np.ndarray:
    """``indices`` where ``keep``, else ``clear``: ``np.where(keep, indices, clear)``.

    By arithmetic modulo 256 instead of a branch per pixel: on masks scattered
    like a frame's unchanged pixels, ``np.where`` costs ~5 ns a pixel, this 0.2.
    """
    result = indices - np.uint8(clear)  # uint8: wraps around
    result *= keep
    result += np.uint8(clear)
    return result


def _window(box: tuple[int, int, int, int]) -> tuple[slice, slice]:
    left, top, width, height = box
    return (slice(top, top + height), slice(left, left + width))


@dataclass(frozen=True)
class _Delta:
    """Where a frame's palette indices differ from the previous frame's.

    Attributes
    ----------
    box
        ``(left, top, width, height)``: outside it the indices are unchanged.
    changed
        Bool mask over ``box``: the indices that differ.
    """

    box: tuple[int, int, int, int]
    changed: np.ndarray


class _Indexer:
    """Palette indices of a stream of frames, mapping only the pixels that changed.

    Frames are compared with the previous one (a copy is kept, as the caller
    may reuse its buffer); only the rows that changed are mapped, each run of
    them inside its own box (:func:`_bands`). Animations change a small part of
    each frame, so this costs a comparison per pixel instead of a table lookup
    per pixel. The indices are one array updated in place, and each frame's
    :class:`_Delta` says which of them changed, so the streams look only
    inside its box and copy nothing of frame size.
    """

    def __init__(self, mapper: PaletteMapper, transparent: bool, clear: int) -> None:
        self.mapper = mapper
        self.transparent = transparent
        self.clear = clear
        self.previous: np.ndarray | None = None  # the last frame's pixels
        self.indices: np.ndarray | None = None  # and their palette indices
        self.scratch: np.ndarray | None = None  # where frames are compared

    def _map(self, pixels: np.ndarray) -> np.ndarray:
        indices = self.mapper.indices(pixels)
        if self.transparent:
            return _where(_opaque(pixels), indices, self.clear)
        return indices

    def add(self, frame: np.ndarray) -> tuple[np.ndarray, _Delta | None]:
        """The frame's indices and what changed since the previous frame (None for the first).

        The indices and the delta's mask are the same arrays for every frame,
        changed by the next call: a caller that keeps them copies them.
        """
        if self.previous is None or self.indices is None:
            self.previous = frame.copy()
            self.indices = self._map(frame)
            self.scratch = np.empty(frame.shape[:2], dtype=bool)
            return self.indices, None
        changed = _changed_pixels(self.previous, frame, self.scratch)
        bands = _bands(changed)
        box = functools.reduce(_union, bands) if bands else (0, 0, 0, 0)
        for band in bands:
            part = _window(band)
            mapped = self._map(frame[part])
            # The mask now tells which indices changed: a pixel may change and keep its
            # index. Outside the bands it is false already.
            np.not_equal(mapped, self.indices[part], out=changed[part])
            self.indices[part] = mapped
            self.previous[part] = frame[part]
        return self.indices, _Delta(box, changed[_window(box)])


@lru_cache(maxsize=4)  # 16 MB each
def _mapper_for(palette_bytes: bytes) -> PaletteMapper:
    return PaletteMapper(np.frombuffer(palette_bytes, dtype=np.uint8).reshape(-1, 3))


def palette_mapper(palette: np.ndarray) -> PaletteMapper:
    """The (cached) :class:`PaletteMapper` of ``palette``: built once per palette."""
    return _mapper_for(_check_palette(palette).tobytes())


# --------------------------------------------------------------------------------------
# GIF, streamed


def _delay_cs(duration_ms: int) -> int:
    """GIF delay in centiseconds: ``duration_ms / 10`` rounded half up, at least 1."""
    if duration_ms <= 0:
        raise ValueError(f"duration_ms must be positive, not {duration_ms}")
    return min(max((duration_ms + 5) // 10, 1), 0xFFFF)


def _lzw(indices: np.ndarray, code_size: int) -> bytes:
    """GIF image data (minimum code size, LZW sub-blocks, terminator) for ``indices``.

    Pillow's GIF encoder through its public ``Image.tobytes(encoder_name, *args)``
    (the encoder's arguments: raw mode, minimum code size, interlace). Pillow's
    ``GifImagePlugin.getdata`` always uses a minimum code size of 8, while a
    palette of N colours needs only ``ceil(log2 N)`` bits, which makes every frame
    a few per cent smaller.
    """
    from PIL import Image

    height, width = indices.shape
    image = Image.frombuffer("L", (width, height), np.ascontiguousarray(indices), "raw", "L", 0, 1)
    return bytes([code_size]) + image.tobytes("gif", "L", code_size, 0) + b"\0"


@dataclass
class _GifFrame:
    """One encoded frame waiting for its disposal method (known once the next frame is)."""

    box: tuple[int, int, int, int]  # left, top, width, height
    data: bytes  # LZW image data
    transparent: bool  # the frame uses the transparent index
    disposal: int = 1  # 1: keep (frames accumulate); 2: restore to background (clear)


class _GifStream:
    """Write a GIF89a one frame at a time from each frame's indices and :class:`_Delta`.

    Each frame after the first holds only the bounding box that changed; inside
    it, unchanged pixels become the transparent index when that encodes smaller.
    One frame is held back so its disposal can be chosen once the next frame is
    known: with transparency, a pixel turning transparent needs the previous
    frame cleared (disposal 2), which the accumulate mode (1) cannot do, and the
    stream keeps copies of the last frame's, the held frame's base and frame 0's
    indices; without transparency it keeps none.
    """

    def __init__(
        self,
        fp: IO[bytes],
        size: tuple[int, int],
        palette: np.ndarray,
        *,
        delay_cs: int,
        loop: int | None,
        transparent: bool,
        unchanged_transparency: bool | None,
    ) -> None:
        self.fp = fp
        self.height, self.width = size
        self.delay_cs = delay_cs
        self.transparent = transparent
        self.unchanged_transparency = unchanged_transparency
        self.clear = len(palette)  # the reserved transparent index
        table_bits = max(1, int(self.clear).bit_length())  # room for indices 0..N
        self.code_size = max(2, table_bits)
        # Kept only with transparency, to choose the held frame's disposal:
        self.canvas: np.ndarray | None = None  # indices shown after the last frame
        self.first: np.ndarray | None = None  # frame 0, to check the loop back to it
        self.base: np.ndarray | None = None  # the canvas the held frame is drawn over
        self.pending: _GifFrame | None = None
        table = np.zeros((1 << table_bits, 3), dtype=np.uint8)
        table[: len(palette)] = palette
        # Logical screen: global colour table flag, 8-bit colour resolution, table size.
        packed = 0x80 | 0x70 | (table_bits - 1)
        background = self.clear if transparent else 0
        header = b"GIF89a" + _u16(self.width) + _u16(self.height)
        header += bytes([packed, background, 0]) + table.tobytes()
        if loop is not None:
            header += b"!\xff\x0bNETSCAPE2.0\x03\x01" + _u16(loop) + b"\0"
        fp.write(header)

    def add(self, indices: np.ndarray, delta: _Delta | None = None) -> None:
        """Append a frame of palette indices (transparent pixels already ``self.clear``).

        ``delta``: what changed since the previous frame (None for the first frame).
        ``indices`` may be changed in place after this returns.
        """
        if delta is None:
            if self.transparent:
                self.first = indices.copy()
                self.base = np.full_like(indices, self.clear)  # frame 0 meets an empty canvas
            box = (0, 0, self.width, self.height)
            self.pending = _GifFrame(box, _lzw(indices, self.code_size), self.transparent)
        elif self.transparent:
            base = self._settle_pending(indices)
            if base is not self.canvas:
                # A cleared box (disposal 2) changed the base outside the delta's box.
                delta = _Delta((0, 0, self.width, self.height), indices != base)
            self.pending = self._encode(*_changes(indices, delta))
            self.base = base
        else:
            self._flush()
            self.pending = self._encode(*_changes(indices, delta))
        if self.transparent:  # the held frame may need redrawing over a larger box
            self.canvas = indices.copy()

    def close(self) -> None:
        """Write the held-back frame and the trailer."""
        if self.transparent and self.first is not None and self.pending is not None:
            self._settle_pending(self.first)  # the loop restarts on frame 0
        self._flush()
        self.fp.write(b";")

    def _settle_pending(self, following: np.ndarray) -> np.ndarray:
        """Choose the held frame's disposal, write it, return the canvas ``following`` meets.

        Only with transparency: otherwise frames always accumulate.
        """
        assert self.canvas is not None and self.base is not None and self.pending is not None
        base = self.canvas
        to_clear = _bounding_box((following == self.clear) & (base != self.clear))
        if to_clear is not None:
            held = self.pending.box
            cover = _union(held, to_clear)
            if cover != held:
                # Clearing the held frame's box would leave some pixels: redraw the
                # held frame over a box that covers them, then clear that box.
                window = _window(cover)
                patch = np.ascontiguousarray(self.canvas[window])
                self.pending = self._encode(cover, patch, patch != self.base[window])
            self.pending.disposal = 2
            left, top, width, height = self.pending.box
            base = base.copy()
            base[top : top + height, left : left + width] = self.clear
        self._flush()
        return base

    def _encode(
        self, box: tuple[int, int, int, int], patch: np.ndarray, changed: np.ndarray
    ) -> _GifFrame:
        """The frame drawing ``patch`` at ``box``; ``changed``: its pixels that differ from
        the canvas it is drawn over (the others may become the transparent index)."""
        choice = self.unchanged_transparency
        if choice is False or changed.all():
            return _GifFrame(box, _lzw(patch, self.code_size), self.transparent)
        masked = _where(changed, patch, self.clear)
        if self.transparent and np.array_equal(masked, patch):
            # Every unchanged pixel is transparent already (opaque patches hold no clear).
            return _GifFrame(box, _lzw(patch, self.code_size), self.transparent)
        if choice is None:
            # Keep whichever encodes smaller. LZW's output follows the number of runs
            # of equal indices, so when one version has clearly fewer runs it is the
            # smaller one (on the gallery, every time) and only it is encoded.
            masked_runs, plain_runs = _runs(masked), _runs(patch)
            if plain_runs <= _CLEARLY_FEWER * masked_runs:
                return _GifFrame(box, _lzw(patch, self.code_size), self.transparent)
            if masked_runs > _CLEARLY_FEWER * plain_runs:
                plain = _lzw(patch, self.code_size)
                data = _lzw(masked, self.code_size)
                if len(plain) <= len(data):
                    return _GifFrame(box, plain, self.transparent)
                return _GifFrame(box, data, True)
        return _GifFrame(box, _lzw(masked, self.code_size), True)

    def _flush(self) -> None:
        frame = self.pending
        if frame is None:
            return
        left, top, width, height = frame.box
        flags = frame.disposal << 2 | int(frame.transparent)
        control = b"!\xf9\x04" + bytes([flags]) + _u16(self.delay_cs)
        control += bytes([self.clear if frame.transparent else 0, 0])
        descriptor = b"," + _u16(left) + _u16(top) + _u16(width) + _u16(height) + b"\0"
        self.fp.write(control + descriptor + frame.data)
        self.pending = None


# A version of a frame with at most this fraction of another's runs is taken to
# encode smaller without encoding both. On the gallery's frames, a run ratio
# below 0.87 always meant at least 6 % fewer bytes.
_CLEARLY_FEWER = 0.8


def _runs(indices: np.ndarray) -> int:
    """Runs of equal values in ``indices`` read row by row, as the encoder reads them."""
    flat = indices.reshape(-1)
    return int(np.count_nonzero(flat[1:] != flat[:-1])) + 1


def _u16(value: int) -> bytes:
    return int(value).to_bytes(2, "little")


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(left, top, width, height)`` of the true pixels of ``mask``; None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[top:bottom].any(axis=0))  # only the rows that changed
    left = int(cols[0])
    return left, top, int(cols[-1]) + 1 - left, bottom - top


def _changes(
    indices: np.ndarray, delta: _Delta
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
    """The box of the indices that differ, the new indices there, and which of them differ.

    An identical frame gets a 1-pixel box at the origin: it is still a frame, it
    keeps its time.
    """
    found = _bounding_box(delta.changed)
    if found is None:
        return (0, 0, 1, 1), np.ascontiguousarray(indices[:1, :1]), np.zeros((1, 1), dtype=bool)
    box = (found[0] + delta.box[0], found[1] + delta.box[1], found[2], found[3])
    return box, np.ascontiguousarray(indices[_window(box)]), delta.changed[_window(found)]


def _union(
    first: tuple[int, int, int, int], second: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    left, top = min(first[0], second[0]), min(first[1], second[1])
    right = max(first[0] + first[2], second[0] + second[2])
    bottom = max(first[1] + first[3], second[1] + second[3])
    return left, top, right - left, bottom - top


def _write_gif(
    fp: IO[bytes],
    frames: Iterator[np.ndarray],
    first: np.ndarray,
    *,
    duration_ms: int,
    palette: np.ndarray | None,
    loop: int | None,
    transparent: bool,
    unchanged_transparency: bool | None,
) -> int:
    if palette is None:
        palette = palette_from_frame(first, transparent=transparent)
    mapper = palette_mapper(palette)
    stream = _GifStream(
        fp,
        first.shape[:2],
        mapper.palette,
        delay_cs=_delay_cs(duration_ms),
        loop=loop,
        transparent=transparent,
        unchanged_transparency=unchanged_transparency,
    )
    indexer = _Indexer(mapper, transparent, stream.clear)
    count = 0
    frame: np.ndarray | None = first
    while frame is not None:
        stream.add(*indexer.add(_check_frame(frame, first.shape)))
        count += 1
        frame = next(frames, None)
    stream.close()
    return count


# --------------------------------------------------------------------------------------
# APNG of palette frames, streamed

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_APNG_SOURCE, _APNG_OVER = 0, 1  # blend ops: replace the box / draw over (alpha 0 keeps)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(4, "big")
        + kind
        + payload
        + zlib.crc32(kind + payload).to_bytes(4, "big")
    )


def _png_pixels(indices: np.ndarray) -> bytes:
    """zlib stream of 8-bit indexed rows with filter type 0, advised for indexed images.

    Level 8: on renderer-like 500×500 frames, 1 % larger than level 9 at less than
    half its time (level 6: 10 % larger).
    """
    rows = np.zeros((indices.shape[0], indices.shape[1] + 1), dtype=np.uint8)
    rows[:, 1:] = indices
    return zlib.compress(rows.tobytes(), 8)


class _ApngStream:
    """Write an indexed APNG one frame at a time from each frame's indices and :class:`_Delta`.

    As for the GIF: each frame after the first is the box that changed, drawn
    either as is (blend "source") or with unchanged pixels as a fully
    transparent reserved index drawn "over" the previous frame, whichever
    compresses smaller; frames are never disposed, so they accumulate. The
    frame count in ``acTL`` is patched in at the end (the file is seekable).
    """

    def __init__(
        self,
        fp: IO[bytes],
        size: tuple[int, int],
        palette: np.ndarray,
        *,
        duration_ms: int,
        loop: int,
    ) -> None:
        from fractions import Fraction

        delay = Fraction(duration_ms, 1000)
        if duration_ms <= 0 or delay.numerator > 0xFFFF or delay.denominator > 0xFFFF:
            raise ValueError(f"duration_ms must be in 1..65535000, not {duration_ms}")
        self.delay = delay.numerator.to_bytes(2, "big") + delay.denominator.to_bytes(2, "big")
        self.fp = fp
        self.height, self.width = size
        self.clear = len(palette)  # the reserved fully transparent index
        self.sequence = 0
        self.count = 0
        self.loop = int(loop).to_bytes(4, "big")
        table = np.zeros((self.clear + 1, 3), dtype=np.uint8)
        table[: self.clear] = palette
        alpha = np.full(self.clear + 1, 255, dtype=np.uint8)
        alpha[self.clear] = 0
        header = self.width.to_bytes(4, "big") + self.height.to_bytes(4, "big")
        header += bytes([8, 3, 0, 0, 0])  # 8-bit, indexed colour, deflate, filters, no interlace
        fp.write(_PNG_SIGNATURE + _png_chunk(b"IHDR", header))
        fp.write(_png_chunk(b"PLTE", table.tobytes()) + _png_chunk(b"tRNS", alpha.tobytes()))
        self.actl_offset = fp.tell()
        fp.write(_png_chunk(b"acTL", bytes(4) + self.loop))

    def add(self, indices: np.ndarray, delta: _Delta | None = None) -> None:
        """Append a frame of palette indices.

        ``delta``: what changed since the previous frame (None for the first frame).
        """
        if delta is None:
            self._frame((0, 0, self.width, self.height), _APNG_SOURCE, _png_pixels(indices))
            return
        box, patch, changed = _changes(indices, delta)
        best = (_APNG_SOURCE, _png_pixels(patch))
        if not changed.all():
            masked = _where(changed, patch, self.clear)
            over = (_APNG_OVER, _png_pixels(masked))
            best = over if len(over[1]) < len(best[1]) else best
        self._frame(box, *best)

    def close(self) -> None:
        """Write the end chunk and the frame count."""
        self.fp.write(_png_chunk(b"IEND", b""))
        end = self.fp.tell()
        self.fp.seek(self.actl_offset)
        self.fp.write(_png_chunk(b"acTL", self.count.to_bytes(4, "big") + self.loop))
        self.fp.seek(end)

    def _frame(self, box: tuple[int, int, int, int], blend: int, pixels: bytes) -> None:
        left, top, width, height = box
        control = self.sequence.to_bytes(4, "big")
        for value in (width, height, left, top):
            control += value.to_bytes(4, "big")
        control += self.delay + bytes([0, blend])  # dispose op 0: none, frames accumulate
        chunks = [_png_chunk(b"fcTL", control)]
        self.sequence += 1
        if self.count == 0:
            chunks.append(_png_chunk(b"IDAT", pixels))  # frame 0 is also the still image
        else:
            chunks.append(_png_chunk(b"fdAT", self.sequence.to_bytes(4, "big") + pixels))
            self.sequence += 1
        self.fp.write(b"".join(chunks))
        self.count += 1


def _write_apng(
    fp: IO[bytes],
    frames: Iterator[np.ndarray],
    first: np.ndarray,
    *,
    duration_ms: int,
    palette: np.ndarray,
    loop: int | None,
) -> int:
    mapper = palette_mapper(palette)
    plays = 1 if loop is None else loop  # APNG counts plays, 0 forever
    stream = _ApngStream(fp, first.shape[:2], mapper.palette, duration_ms=duration_ms, loop=plays)
    indexer = _Indexer(mapper, transparent=False, clear=stream.clear)
    for frame in itertools.chain([first], frames):
        stream.add(*indexer.add(_check_frame(frame, first.shape)))
    stream.close()
    return stream.count


# --------------------------------------------------------------------------------------
# True-colour APNG, WebP and PNG through Pillow


def _to_image(frame: np.ndarray, mapper: PaletteMapper | None, *, transparent: bool) -> Image.Image:
    """A Pillow image of ``frame``: palette mode when it can be (smaller), else RGB(A).

    Alpha is kept only with ``transparent``; fully transparent pixels get RGB 0
    so their (invisible) colour does not cost bytes or vary between runs.
    """
    from PIL import Image

    keep_alpha = transparent and frame.shape[2] == 4
    if mapper is not None and not keep_alpha:
        image = Image.frombytes("P", frame.shape[1::-1], mapper.indices(frame).tobytes())
        image.putpalette(mapper.palette.tobytes())
        return image
    rgb = mapper.colours(frame) if mapper is not None else frame[..., :3]
    if not keep_alpha:
        return Image.frombytes("RGB", frame.shape[1::-1], np.ascontiguousarray(rgb).tobytes())
    rgba = np.empty(frame.shape, dtype=np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = frame[..., 3]
    rgba[frame[..., 3] == 0] = 0
    return Image.frombytes("RGBA", frame.shape[1::-1], rgba.tobytes())


def _write_pillow_animation(
    fp: IO[bytes],
    frames: Iterator[np.ndarray],
    first: np.ndarray,
    *,
    image_format: str,
    duration_ms: int,
    palette: np.ndarray | None,
    loop: int | None,
    transparent: bool,
) -> int:
    mapper = palette_mapper(palette) if palette is not None else None
    images = []
    frame: np.ndarray | None = first
    while frame is not None:
        images.append(_to_image(_check_frame(frame, first.shape), mapper, transparent=transparent))
        frame = next(frames, None)
    options: dict[str, Any] = {"save_all": True, "append_images": images[1:]}
    options["duration"] = duration_ms
    options["loop"] = 1 if loop is None else loop  # None: played once, as a GIF without loop
    if image_format == "PNG":
        options.update(disposal=0, blend=0, compress_level=9)
    else:  # lossless WebP; method/quality are compression effort, not loss
        # Measured on 500×500 frames: method 2 is within 1 % of method 4's size and
        # faster; method 6 at quality 100 is ~100× slower for no gain.
        options.update(lossless=True, quality=100, method=2)
    images[0].save(fp, format=image_format, **options)
    return len(images)


def write_animation(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    duration_ms: int,
    palette: np.ndarray | None = None,
    loop: int | None = 0,
    transparent: bool = False,
    unchanged_transparency: bool | None = None,
) -> Written:
    """Write an animation, format by suffix: ``.gif``, ``.png`` (APNG) or ``.webp``.

    All formats loop, show every frame for ``duration_ms`` and are lossless
    with respect to what they store: with a palette, every format stores the
    palette-mapped pixels (what the GIF shows); without one, APNG and WebP store
    the input exactly.

    Memory: GIF is always streamed, and so is APNG with a palette and without
    transparency (each holds one frame and the previous frame's indices). The
    other APNG cases and WebP go through Pillow, which holds every frame in
    memory (one byte per pixel with a palette); Pillow also merges identical
    consecutive frames there (durations add) and writes a single frame as a
    still. The streamed writers keep every frame.

    Both streamed writers store the first frame whole and then only the box
    that changed, frames accumulating ("do not dispose"); inside the box,
    pixels unchanged since the previous frame become a reserved transparent
    index when that compresses smaller.

    Parameters
    ----------
    path
        Output file; its suffix selects the format.
    frames
        ``uint8`` RGB or RGBA arrays, all of one size, at least one.
    duration_ms
        Time each frame is shown. GIF stores centiseconds: ``duration_ms / 10``
        rounded half up, at least 1 (browsers show delays under 20 ms as 100 ms).
    palette
        ``(N <= 255, 3)`` colours every pixel is mapped to (nearest, no dither).
        ``None``: GIF builds one from the first frame; APNG/WebP stay true colour.
    loop
        Loop count as the formats store it: ``0`` forever; ``None`` writes no GIF
        loop extension (played once).
    transparent
        RGBA pixels with alpha < 128 become GIF-transparent; APNG/WebP keep alpha.
    unchanged_transparency
        GIF only: paint pixels unchanged since the previous frame with the
        transparent index. ``None`` (default): per frame, whichever encodes smaller
        (both are encoded only when neither has clearly fewer runs of equal pixels,
        which is what LZW's output follows).

    Returns
    -------
    Written
    """
    target = check_output_path(path)
    if duration_ms <= 0:
        raise ValueError(f"duration_ms must be positive, not {duration_ms}")
    palette = _check_palette(palette) if palette is not None else None
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("no frames to write")
    first = _check_frame(first)
    loop_count = None if loop is None else int(loop)
    suffix = target.suffix.lower()
    with atomic_path(target) as temporary, open(temporary, "wb") as fp:
        if suffix == ".gif":
            count = _write_gif(
                fp,
                iterator,
                first,
                duration_ms=duration_ms,
                palette=palette,
                loop=loop_count,
                transparent=transparent,
                unchanged_transparency=unchanged_transparency,
            )
        elif suffix == ".png" and palette is not None and not transparent:
            count = _write_apng(
                fp, iterator, first, duration_ms=duration_ms, palette=palette, loop=loop_count
            )
        else:
            count = _write_pillow_animation(
                fp,
                iterator,
                first,
                image_format="PNG" if suffix == ".png" else "WEBP",
                duration_ms=duration_ms,
                palette=palette,
                loop=loop_count,
                transparent=transparent,
            )
    return Written(target, count, target.stat().st_size)


def _save_png(image: Image.Image, fp: IO[bytes], dpi: float | None = None) -> None:
    # The DPI (a pHYs chunk) lets LaTeX and office programs size the image as drawn.
    extra = {} if dpi is None else {"dpi": (dpi, dpi)}
    image.save(fp, format="PNG", compress_level=9, **extra)


def _still_image(frame: np.ndarray, palette: np.ndarray | None) -> Image.Image:
    frame = _check_frame(frame)
    # Alpha that is opaque everywhere carries nothing: RGB is smaller.
    transparent = frame.shape[2] == 4 and bool((frame[..., 3] != 255).any())
    mapper = palette_mapper(palette) if palette is not None else None
    return _to_image(frame, mapper, transparent=transparent)


def write_image(
    path: str | os.PathLike[str],
    frame: np.ndarray,
    *,
    palette: np.ndarray | None = None,
    dpi: float | None = None,
) -> Written:
    """Write one frame as a PNG still (alpha kept unless fully opaque), with ``dpi`` if given.

    Parameters
    ----------
    path
        Output file (``.png``).
    frame
        ``uint8`` RGB or RGBA array.
    palette
        Optional colours to map the pixels to (nearest, no dither).
    """
    target = check_output_path(path, (".png",))
    image = _still_image(frame, palette)
    with atomic_path(target) as temporary, open(temporary, "wb") as fp:
        _save_png(image, fp, dpi)
    return Written(target, 1, target.stat().st_size)


def _check_frame_names(directory: Path, names: Iterable[str]) -> None:
    """Refuse frame names a file cannot be moved onto (a directory of that name)."""
    if not directory.is_dir():
        return
    for name in names:
        blocking = directory / name
        if blocking.is_dir() and not blocking.is_symlink():
            raise OutputError(
                f"--frames: {str(blocking)!r} is a directory; remove it or write the "
                f"frames elsewhere"
            )


def write_frames(
    directory: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    stem: str = "step",
    palette: np.ndarray | None = None,
    dpi: float | None = None,
) -> Written:
    """Write one PNG per frame: ``step_000.png`` … , streamed.

    Numbers are zero-padded to at least :data:`MIN_FRAME_DIGITS` digits (more
    when the frame count needs them; 4 when ``frames`` has no length), so the
    names sort and a LaTeX ``\animategraphics{...}{step_}{000}{008}`` matches
    them. Each PNG carries ``dpi`` when given. The directory is created if missing. All files
    are written to a hidden temporary directory inside it and moved in only
    when every frame is done; then files of an earlier run with the same stem
    and a different numbering (``step_<digits>.png``) are removed, so the
    directory holds exactly this sequence.

    Returns
    -------
    Written
        The directory, the frame count and the bytes of all frames.
    """
    target = Path(directory)
    if "\x00" in str(target):
        raise OutputError("--frames: the path contains a NUL character")
    try:
        if target.exists() and not target.is_dir():
            raise OutputError(f"--frames: {str(target)!r} is not a directory")
        parent = next((p for p in (target, *target.parents) if p.exists()), Path("."))
    except OSError as error:  # a folder name too long, a loop of links
        raise OutputError(f"--frames: cannot use {str(target)!r}: {error.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"--frames: directory {str(parent)!r} is not writable")
    if not stem or "/" in stem or os.sep in stem:
        raise ValueError(f"stem must be a plain file-name part, not {stem!r}")
    width = max(MIN_FRAME_DIGITS, len(str(len(frames) - 1))) if hasattr(frames, "__len__") else 4
    if hasattr(frames, "__len__"):  # refused before any frame is drawn
        _check_frame_names(target, [f"{stem}_{i:0{width}d}.png" for i in range(len(frames))])
    names: list[str] = []
    size_bytes = 0
    with _atomic_directory(target) as temporary:
        for index, frame in enumerate(frames):
            name = f"{stem}_{index:0{width}d}.png"
            try:
                with open(temporary / name, "wb") as fp:
                    _save_png(_still_image(frame, palette), fp, dpi)
            except OSError as error:  # a full disk: about the frame, not the hidden folder
                raise _naming(error, target / name) from None
            size_bytes += (temporary / name).stat().st_size
            names.append(name)
        if not names:
            raise ValueError("no frames to write")
        # All or nothing: every name is checked before the first file moves in.
        _check_frame_names(target, names)
        for name in names:
            try:
                os.replace(temporary / name, target / name)
            except OSError as error:
                raise _naming(error, target / name) from None
    pattern = re.compile(rf"{re.escape(stem)}_\d+\.png")
    keep = set(names)
    for stale in target.iterdir():
        if pattern.fullmatch(stale.name) and stale.name not in keep and stale.is_file():
            stale.unlink()
    return Written(target, len(names), size_bytes)


# --------------------------------------------------------------------------------------
# Video through ffmpeg (imageio's ffmpeg plugin; imageio-ffmpeg ships the binary)

# Same frames, same bytes: one encoder thread, no encoder/muxer version strings or
# metadata (measured: two runs give identical files). Colours are converted with the
# BT.709 matrix and tagged as such, which is what players assume for video.
_VIDEO_COMMON = (
    "-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
    "-vf", "scale=out_color_matrix=bt709:out_range=tv", "-colorspace", "bt709",
    "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
)  # fmt: skip
# codec and its options, by suffix. H.264: CRF 18 ("visually lossless"); on the
# gallery's frames the error is that of yuv420p's half-resolution colour (PSNR ~39 dB
# at CRF 14 to 23 alike). The veryslow preset's long motion search and 16 reference
# frames follow the sliding window: half the bytes of the medium preset on a 16x16
# figure, for twice the time. +faststart puts the index first (plays while loading).
# VP9: speed 2 is 30 % faster than 1 for 3 % more bytes; 4 makes 30 % more bytes.
_VIDEO_ENCODERS: dict[str, tuple[str, tuple[str, ...]]] = {
    ".mp4": (
        "libx264",
        ("-crf", "18", "-preset", "veryslow", "-tune", "animation", "-movflags", "+faststart"),
    ),
    ".webm": (
        "libvpx-vp9",
        ("-crf", "20", "-b:v", "0", "-row-mt", "0", "-deadline", "good", "-cpu-used", "2"),
    ),
}


def _over_background(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``frame``'s RGB, composited over ``background`` where it is not opaque."""
    if frame.shape[2] == 3 or bool((frame[..., 3] == 255).all()):
        return frame[..., :3]
    alpha = frame[..., 3:].astype(np.uint16)
    mixed = frame[..., :3] * alpha + background.astype(np.uint16) * (255 - alpha) + 127
    return (mixed // 255).astype(np.uint8)


def _even_frames(
    frames: Iterable[np.ndarray], shape: tuple[int, ...], background: np.ndarray
) -> Iterator[np.ndarray]:
    """Each frame as opaque RGB of even width and height (yuv420p halves both).

    An odd last row or column is added at the bottom or right, in ``background``.
    Yields one reused buffer, which the caller consumes before the next.
    """
    height, width = shape[:2]
    canvas = np.empty((height + height % 2, width + width % 2, 3), dtype=np.uint8)
    canvas[...] = background
    for frame in frames:
        canvas[:height, :width] = _over_background(_check_frame(frame, shape), background)
        yield canvas


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    duration_ms: int,
    background: tuple[int, int, int] | None = None,
) -> Written:
    """Write frames as a video: ``.mp4`` (H.264) or ``.webm`` (VP9), streamed.

    yuv420p (what PowerPoint, Keynote, browsers and phones play), no audio. Every
    frame is shown exactly ``duration_ms`` (the frame rate is the rational
    ``1000 / duration_ms``, one video frame per frame). Frames of odd width or
    height get one more row or column of ``background``. Video is lossy: colours
    are close to the frames', not equal.

    Parameters
    ----------
    path
        Output file; its suffix selects the format.
    frames
        ``uint8`` RGB or RGBA arrays, all of one size, at least one. RGBA frames
        are composited over ``background`` (video has no transparency).
    duration_ms
        Time each frame is shown.
    background
        RGB of the padding and of transparent pixels. None: the colour of the
        first frame's bottom-right pixel when it is opaque (a figure's
        background), else white.

    Returns
    -------
    Written
    """
    target = check_output_path(path, VIDEO_SUFFIXES)
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms <= 0:
        raise ValueError(f"duration_ms must be a positive whole number, not {duration_ms!r}")
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("no frames to write")
    first = _check_frame(first)
    if background is None:
        corner = first[-1, -1]
        opaque = first.shape[2] == 3 or corner[3] == 255
        background = tuple(int(c) for c in corner[:3]) if opaque else (255, 255, 255)
    colour = np.array(background, dtype=np.uint8)
    import imageio.v3 as iio

    rate = Fraction(1000, duration_ms)
    codec, options = _VIDEO_ENCODERS[target.suffix.lower()]
    count = 0
    with atomic_path(target) as temporary, iio.imopen(temporary, "w", plugin="FFMPEG") as file:
        writer = file.legacy_get_writer(
            codec=codec,
            pixelformat="yuv420p",
            fps=float(rate),
            # The exact rational rate; given after imageio-ffmpeg's own -r, it wins
            # (older imageio-ffmpeg versions round that one to two decimals).
            input_params=["-r", f"{rate.numerator}/{rate.denominator}"],
            macro_block_size=1,  # never resized: the frames are padded here
            ffmpeg_log_level="error",
            output_params=[*_VIDEO_COMMON, *options],
        )
        try:
            for frame in _even_frames(itertools.chain([first], iterator), first.shape, colour):
                writer.append_data(frame)
                count += 1
        except BaseException:
            # An error or an interrupt: ffmpeg is killed, not left to encode what it
            # has (seconds), and must be gone before the file is removed.
            _kill_encoder(writer)
            raise
        finally:
            # imageio's writer closes only on success, leaving ffmpeg to the collector.
            writer.close()
    return Written(target, count, target.stat().st_size)


class _Abandoned(BaseException):
    """Thrown into imageio-ffmpeg's frame writer: it kills ffmpeg on a BaseException."""


def _kill_encoder(writer: Any) -> None:
    """Stop a video writer's ffmpeg at once (imageio-ffmpeg's generator kills it when a
    BaseException reaches it; a plain close would wait for it to finish encoding)."""
    generator = getattr(writer, "_write_gen", None)
    if generator is None:
        return
    with contextlib.suppress(BaseException):
        generator.throw(_Abandoned())


# --------------------------------------------------------------------------------------
# matplotlib figures

_FIGURE_METADATA: dict[str, dict[str, None]] = {
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    ".png": {"Software": None},
}


def save_figure(path: str | os.PathLike[str], figure: Figure) -> Written:
    """Save a matplotlib figure as ``.svg``, ``.pdf`` or ``.png``, reproducibly.

    No dates or version stamps; SVG element ids come from a fixed hash salt.
    Written atomically.
    """
    from matplotlib import rc_context

    target = check_output_path(path, STILL_SUFFIXES)
    suffix = target.suffix.lower()
    settings = {"svg.hashsalt": "convgif", "pdf.compression": 9}
    with rc_context(settings), atomic_path(target) as temporary:
        figure.savefig(temporary, format=suffix[1:], metadata=_FIGURE_METADATA[suffix])
    return Written(target, 1, target.stat().st_size)
