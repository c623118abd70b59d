"""Tests of convgif.writers: files read back with Pillow and an independent GIF parser.

Frames are synthetic (flat colour blocks, a window sliding over a grid); no
convolution code is involved.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from convgif.writers import (
    ANIMATION_SUFFIXES,
    STILL_SUFFIXES,
    OutputError,
    Written,
    _bands,
    _where,
    atomic_path,
    check_output_path,
    palette_mapper,
    save_figure,
    write_animation,
    write_frames,
    write_image,
)

WHITE, BLUE, CYAN, SHADE, LINE = (
    (255, 255, 255),
    (38, 139, 210),
    (42, 161, 152),
    (7, 54, 66),
    (0, 43, 54),
)
PALETTE = np.array([WHITE, BLUE, CYAN, SHADE, LINE], dtype=np.uint8)


# --------------------------------------------------------------------------------------
# Synthetic frames and independent references


def sliding_window(count: int = 9, size: tuple[int, int] = (60, 80), alpha: bool = True):
    """A blue grid at the bottom, a cyan one at the top, a dark window sliding row-major."""
    height, width = size
    side = 3
    for step in range(count):
        frame = np.full((height, width, 4 if alpha else 3), 255, dtype=np.uint8)
        frame[height // 2 :, 4 : width - 4, :3] = BLUE
        frame[2 : height // 2 - 4, 10 : width - 10, :3] = CYAN
        row, col = divmod(step, side)
        top, left = height // 2 + 2 + 5 * row, 6 + 9 * col
        frame[top : top + 12, left : left + 12, :3] = SHADE
        frame[4 + 5 * row : 9 + 5 * row, 12 + 9 * col : 20 + 9 * col, :3] = LINE
        yield frame


def on_transparent(count: int = 6, size: tuple[int, int] = (40, 50)):
    """RGBA frames on a transparent background: blocks appear, move and vanish."""
    height, width = size
    for step in range(count):
        frame = np.zeros((height, width, 4), dtype=np.uint8)
        frame[5:15, 5:15] = (*BLUE, 255)  # present in frame 0 ...
        if step in (2, 3):
            frame[5:15, 5:15, 3] = 0  # ... vanishes far from the next frame's change
        frame[25:35, 4 * step : 4 * step + 10] = (*CYAN, 255)  # moves, uncovering pixels
        if step == 1:
            frame[30:38, 30:45] = (*SHADE, 255)  # only in frame 1: cleared by frame 2
        frame[0:3, 0:3, 3] = 100  # partial alpha < 128: transparent in a GIF
        frame[0:3, 40:43] = (*LINE, 200)  # partial alpha >= 128: opaque in a GIF
        if step == count - 1:
            frame[36:40, 0:50] = (*SHADE, 255)  # opaque where frame 0 is transparent
        yield frame


def outline_over_texture(count: int = 25) -> list[np.ndarray]:
    """A window outline sliding over a textured grid: its box is mostly unchanged texture."""
    rng = np.random.default_rng(8)
    background = PALETTE[rng.integers(0, 3, (30, 50))].repeat(2, axis=0).repeat(2, axis=1)
    frames = []
    for step in range(count):
        frame = background.copy()
        top, left = 3 * (step // 5), 6 * (step % 5)
        frame[top : top + 30, left : left + 30] = LINE
        frame[top + 2 : top + 28, left + 2 : left + 28] = background[
            top + 2 : top + 28, left + 2 : left + 28
        ]
        frames.append(frame)
    return frames


def brute_force_nearest(colours: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Squared distances from each colour to each palette colour (independent reference)."""
    diff = colours.reshape(-1, 1, 3).astype(np.int64) - palette.reshape(1, -1, 3).astype(np.int64)
    return (diff**2).sum(axis=2)


def read_frames(path: Path, mode: str = "RGB") -> tuple[list[np.ndarray], list[dict]]:
    with Image.open(path) as image:
        frames, infos = [], []
        for frame in ImageSequence.Iterator(image):
            frames.append(np.asarray(frame.convert(mode)).copy())
            infos.append(dict(frame.info))
        return frames, infos


def parse_gif(data: bytes) -> dict:
    """A minimal GIF block parser, written from the GIF89a specification."""
    assert data[:6] == b"GIF89a"
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    packed = data[10]
    assert packed & 0x80, "no global colour table"
    table_size = 2 << (packed & 7)
    position = 13 + 3 * table_size
    result = {
        "size": (width, height),
        "table": np.frombuffer(data[13:position], dtype=np.uint8).reshape(-1, 3),
        "loop": None,
        "frames": [],
    }
    control = None

    def sub_blocks(position: int) -> tuple[bytes, int]:
        payload = b""
        while data[position]:
            payload += data[position + 1 : position + 1 + data[position]]
            position += 1 + data[position]
        return payload, position + 1

    while True:
        introducer = data[position]
        if introducer == 0x3B:
            assert position == len(data) - 1, "bytes after the trailer"
            return result
        if introducer == 0x21:
            label = data[position + 1]
            payload, position = sub_blocks(position + 2)
            if label == 0xFF and payload.startswith(b"NETSCAPE2.0"):
                result["loop"] = int.from_bytes(payload[12:14], "little")
            elif label == 0xF9:
                control = {
                    "disposal": (payload[0] >> 2) & 7,
                    "transparent": payload[0] & 1,
                    "delay_cs": int.from_bytes(payload[1:3], "little"),
                    "index": payload[3],
                }
        elif introducer == 0x2C:
            box = [
                int.from_bytes(data[position + i : position + i + 2], "little")
                for i in (1, 3, 5, 7)
            ]
            flags = data[position + 9]
            assert not flags & 0x80, "local colour table"
            code_size = data[position + 10]
            _, position = sub_blocks(position + 11)
            result["frames"].append({"box": tuple(box), "code_size": code_size, **(control or {})})
            control = None
        else:
            raise AssertionError(f"unexpected block {introducer:#x} at {position}")


def parse_png(data: bytes) -> dict:
    """A minimal PNG/APNG chunk reader, written from the PNG and APNG specifications."""
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    result: dict = {"fcTL": [], "sequence": []}
    position = 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        crc = int.from_bytes(data[position + 8 + length : position + 12 + length], "big")
        assert zlib.crc32(kind + payload) == crc, kind
        position += 12 + length

        def number(offset: int, size: int = 4, payload: bytes = payload) -> int:
            return int.from_bytes(payload[offset : offset + size], "big")

        if kind == b"IHDR":
            result["IHDR"] = (number(0), number(4), payload[8], payload[9])
        elif kind == b"acTL":
            result["acTL"] = (number(0), number(4))
        elif kind == b"fcTL":
            result["sequence"].append(number(0))
            result["fcTL"].append(
                {
                    "sequence": number(0),
                    "box": (number(12), number(16), number(4), number(8)),
                    "delay": (number(20, 2), number(22, 2)),
                    "dispose": payload[24],
                    "blend": payload[25],
                }
            )
        elif kind == b"fdAT":
            result["sequence"].append(number(0))
        elif kind == b"IEND":
            assert position == len(data), "bytes after IEND"
    assert result["sequence"] == list(range(len(result["sequence"])))
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------------------
# Output paths


def test_unknown_suffix_names_the_option_and_the_formats(tmp_path):
    with pytest.raises(OutputError) as error:
        check_output_path(tmp_path / "figure.bmp")
    assert str(error.value) == "--output: unknown suffix '.bmp'; use .gif, .png (APNG) or .webp"


def test_still_suffixes_and_option_name_in_message(tmp_path):
    with pytest.raises(
        OutputError, match=r"^-o: unknown suffix '\.gif'; use \.png, \.svg or \.pdf$"
    ):
        check_output_path(tmp_path / "a.gif", STILL_SUFFIXES, option="-o")
    with pytest.raises(OutputError, match=r"^--output: no suffix"):
        check_output_path(tmp_path / "figure")


def test_missing_directory_and_directory_path_are_refused(tmp_path):
    with pytest.raises(OutputError, match=r"^--output: directory .* does not exist"):
        check_output_path(tmp_path / "missing" / "a.gif")
    (tmp_path / "dir.gif").mkdir()
    with pytest.raises(OutputError, match=r"^--output: .* is a directory"):
        check_output_path(tmp_path / "dir.gif")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(locked / "a.gif")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("name", ["a.gif", "A.GIF", "b.png", "c.WebP"])
def test_known_suffixes_pass_in_any_case(tmp_path, name):
    assert check_output_path(tmp_path / name) == tmp_path / name
    assert Path(name).suffix.lower() in ANIMATION_SUFFIXES


def test_write_animation_refuses_before_writing(tmp_path):
    def never():
        raise AssertionError("frames were requested")
        yield

    with pytest.raises(OutputError, match=r"^--output: unknown suffix"):
        write_animation(tmp_path / "a.bmp", never(), duration_ms=100)
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------
# Palette mapping


def test_every_palette_colour_maps_to_itself_even_when_colours_are_close():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 250, (40, 3))
    # neighbours 1..4 apart share (or straddle) a 4×4×4 lookup cell
    shifts = np.array([[0, 0, 0], [1, 1, 1], [0, 3, 0], [4, 0, 1]])
    palette = np.unique((base[None] + shifts[:, None]).reshape(-1, 3), axis=0)
    palette = palette[:255].astype(np.uint8)
    mapper = palette_mapper(palette)
    assert mapper.exact_cells > 0  # the case under test: cells resolved colour by colour
    assert np.array_equal(mapper.indices(palette[None])[0], np.arange(len(palette)))


def test_mapping_is_close_to_the_true_nearest_colour():
    rng = np.random.default_rng(4)
    palette = rng.integers(0, 256, (60, 3)).astype(np.uint8)
    colours = np.concatenate(
        [
            rng.integers(0, 256, (20000, 3)),
            (palette[rng.integers(0, 60, 20000)] + rng.integers(-6, 7, (20000, 3))).clip(0, 255),
        ]
    ).astype(np.uint8)
    got = palette_mapper(palette).indices(colours[None])[0]
    distances = np.sqrt(brute_force_nearest(colours, palette))
    ordered = np.sort(distances, axis=1)
    chosen = distances[np.arange(len(colours)), got]
    # the documented bound: at most 2·√3·1.5 farther than the nearest colour
    assert (chosen - ordered[:, 0] <= 2 * np.sqrt(3) * 1.5 + 1e-9).all()
    # where the nearest colour wins by more than that margin, it must be chosen
    clear_winner = ordered[:, 1] - ordered[:, 0] > 2 * np.sqrt(3) * 1.5
    assert clear_winner.sum() > 10000
    assert np.array_equal(got[clear_winner], distances[clear_winner].argmin(axis=1))


def test_rgb_and_rgba_frames_map_alike():
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (30, 40, 4)).astype(np.uint8)
    mapper = palette_mapper(PALETTE)
    assert np.array_equal(mapper.indices(rgba), mapper.indices(np.ascontiguousarray(rgba[..., :3])))
    assert np.array_equal(mapper.indices(rgba), mapper.indices(rgba[:, ::-1][:, ::-1]))


def test_windows_of_rgba_frames_map_as_the_whole_frame_does():
    rng = np.random.default_rng(6)
    rgba = rng.integers(0, 256, (30, 40, 4)).astype(np.uint8)
    mapper = palette_mapper(PALETTE)
    whole = mapper.indices(rgba)
    assert np.array_equal(mapper.indices(rgba[3:17, 5:31]), whole[3:17, 5:31])
    assert np.array_equal(mapper.indices(rgba[::2, 1::3]), whole[::2, 1::3])
    unaligned = np.empty(30 * 40 * 4 + 1, dtype=np.uint8)[1:].reshape(30, 40, 4)
    unaligned[...] = rgba
    assert np.array_equal(mapper.indices(unaligned), whole)


def test_bad_palettes_are_refused(tmp_path):
    for palette in (np.zeros((256, 3), np.uint8), np.zeros((4, 4), np.uint8), np.full((2, 3), 300)):
        with pytest.raises(ValueError, match="palette"):
            write_animation(tmp_path / "a.gif", sliding_window(2), duration_ms=100, palette=palette)
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------
# GIF


def test_gif_reads_back_every_frame_exactly(tmp_path):
    frames = list(sliding_window(9))
    written = write_animation(tmp_path / "a.gif", iter(frames), duration_ms=1000, palette=PALETTE)
    assert written == Written(tmp_path / "a.gif", 9, (tmp_path / "a.gif").stat().st_size)
    read, infos = read_frames(tmp_path / "a.gif")
    assert len(read) == 9
    for got, expected in zip(read, frames, strict=True):
        assert np.array_equal(got, expected[..., :3])  # palette colours only: exact
    assert [info["duration"] for info in infos] == [1000] * 9
    with Image.open(tmp_path / "a.gif") as image:
        assert image.info["loop"] == 0
        assert image.size == (80, 60)
        assert image.n_frames == 9


# the streamed writers (APNG is streamed without transparency)
@pytest.mark.parametrize(
    ("suffix", "transparent"), [(".gif", False), (".gif", True), (".png", False)]
)
def test_streamed_writers_accept_one_reused_buffer(tmp_path, suffix, transparent):
    frames = list(on_transparent()) if transparent else list(sliding_window(9))
    buffer = np.empty_like(frames[0])

    def reused() -> Iterator[np.ndarray]:
        for frame in frames:
            buffer[...] = frame  # the producer overwrites its one buffer
            yield buffer

    path = tmp_path / f"a{suffix}"
    write_animation(path, reused(), duration_ms=100, palette=PALETTE, transparent=transparent)
    read, _ = read_frames(path, "RGBA")
    assert len(read) == len(frames)
    for got, frame in zip(read, frames, strict=True):
        shown = frame[..., 3] >= 128 if transparent else np.ones(frame.shape[:2], dtype=bool)
        assert np.array_equal(got[..., 3] > 0, shown)
        assert np.array_equal(got[shown][:, :3], frame[shown][:, :3])


def test_gif_structure_one_table_deltas_and_accumulating_frames(tmp_path):
    write_animation(tmp_path / "a.gif", sliding_window(9), duration_ms=250, palette=PALETTE)
    gif = parse_gif((tmp_path / "a.gif").read_bytes())
    assert gif["size"] == (80, 60)
    assert gif["loop"] == 0
    assert np.array_equal(gif["table"][: len(PALETTE)], PALETTE)
    assert len(gif["table"]) == 8  # 5 colours + the transparent index fit 3 bits
    frames = gif["frames"]
    assert len(frames) == 9
    assert frames[0]["box"] == (0, 0, 80, 60)
    assert all(frame["delay_cs"] == 25 for frame in frames)
    assert all(frame["disposal"] == 1 for frame in frames)
    assert all(frame["code_size"] == 3 for frame in frames)
    # only the window and the output cell move: later frames are small boxes
    assert all(frame["box"][2] * frame["box"][3] < 80 * 60 / 2 for frame in frames[1:])


def test_gif_of_antialiased_frames_matches_the_palette_mapping(tmp_path):
    rng = np.random.default_rng(6)
    frames = []
    for frame in sliding_window(6):
        noisy = frame.astype(np.int16) + rng.integers(-40, 41, frame.shape)
        frames.append(noisy.clip(0, 255).astype(np.uint8))
    write_animation(tmp_path / "a.gif", frames, duration_ms=100, palette=PALETTE)
    mapper = palette_mapper(PALETTE)
    read, _ = read_frames(tmp_path / "a.gif")
    for got, frame in zip(read, frames, strict=True):
        assert np.array_equal(got, mapper.colours(frame))
        assert set(map(tuple, got.reshape(-1, 3))) <= set(map(tuple, PALETTE))


def test_gif_without_palette_uses_the_first_frames_colours(tmp_path):
    frames = list(sliding_window(5, alpha=False))
    write_animation(tmp_path / "a.gif", frames, duration_ms=100)
    read, _ = read_frames(tmp_path / "a.gif")
    assert all(np.array_equal(g, f) for g, f in zip(read, frames, strict=True))


def test_gif_without_palette_quantises_rich_frames_to_255_colours(tmp_path):
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (32, 32, 3)).astype(np.uint8) for _ in range(3)]
    write_animation(tmp_path / "a.gif", frames, duration_ms=100)
    gif = parse_gif((tmp_path / "a.gif").read_bytes())
    read, _ = read_frames(tmp_path / "a.gif")
    used = np.unique(np.concatenate([r.reshape(-1, 3) for r in read]), axis=0)
    assert len(used) <= 255
    assert len(gif["frames"]) == 3


@pytest.mark.parametrize(
    ("duration_ms", "delay_cs"), [(1000, 100), (40, 4), (34, 3), (35, 4), (25, 3), (3, 1)]
)
def test_gif_delay_is_duration_rounded_half_up_to_centiseconds(tmp_path, duration_ms, delay_cs):
    write_animation(tmp_path / "a.gif", sliding_window(3), duration_ms=duration_ms, palette=PALETTE)
    _, infos = read_frames(tmp_path / "a.gif")
    assert [info["duration"] for info in infos] == [10 * delay_cs] * 3


def test_unchanged_pixels_transparent_is_smaller_and_looks_the_same(tmp_path):
    frames = outline_over_texture()
    sizes, reads = {}, {}
    for choice in (False, True, None):
        path = tmp_path / f"{choice}.gif"
        sizes[choice] = write_animation(
            path, frames, duration_ms=100, palette=PALETTE, unchanged_transparency=choice
        ).size_bytes
        reads[choice] = read_frames(path)[0]
        assert all(np.array_equal(g, f) for g, f in zip(reads[choice], frames, strict=True))
    assert sizes[True] < sizes[False]
    assert sizes[None] <= min(sizes[True], sizes[False])  # chosen per frame
    flags = [
        f.get("transparent", 0) for f in parse_gif((tmp_path / "False.gif").read_bytes())["frames"]
    ]
    assert not any(flags)


def test_unchanged_pixels_stay_painted_when_that_is_smaller(tmp_path):
    rng = np.random.default_rng(11)
    # A dotted region turning flat: painting it flat beats flat-with-transparent-dots.
    dotted = np.full((60, 60, 3), BLUE, dtype=np.uint8)
    dotted[rng.random((60, 60)) < 0.3] = CYAN
    flat = np.full((60, 60, 3), CYAN, dtype=np.uint8)
    frames = [dotted, flat] * 3
    sizes = {}
    for choice in (False, True, None):
        path = tmp_path / f"{choice}.gif"
        sizes[choice] = write_animation(
            path, frames, duration_ms=100, palette=PALETTE, unchanged_transparency=choice
        ).size_bytes
        assert all(np.array_equal(g, f) for g, f in zip(read_frames(path)[0], frames, strict=True))
    assert sizes[None] < sizes[True]
    assert sizes[None] <= sizes[False]


@pytest.mark.parametrize("suffix", [".gif", ".png"])  # the streamed writers
def test_identical_frames_are_kept_as_frames(tmp_path, suffix):
    frame = next(sliding_window(1))
    path = tmp_path / f"a{suffix}"
    write_animation(path, [frame, frame, frame], duration_ms=500, palette=PALETTE)
    read, infos = read_frames(path)
    assert len(read) == 3
    assert [info["duration"] for info in infos] == [500] * 3
    assert all(np.array_equal(r, frame[..., :3]) for r in read)


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_single_frame_animation(tmp_path, suffix):
    path = tmp_path / f"a{suffix}"
    write_animation(path, sliding_window(1), duration_ms=700, palette=PALETTE)
    read, infos = read_frames(path)
    assert len(read) == 1 and infos[0]["duration"] == 700


def test_loop_none_plays_once(tmp_path):
    write_animation(tmp_path / "a.gif", sliding_window(2), duration_ms=100, loop=None)
    assert parse_gif((tmp_path / "a.gif").read_bytes())["loop"] is None
    write_animation(
        tmp_path / "a.png", sliding_window(2), duration_ms=100, palette=PALETTE, loop=None
    )
    assert parse_png((tmp_path / "a.png").read_bytes())["acTL"] == (2, 1)
    write_animation(tmp_path / "b.gif", sliding_window(2), duration_ms=100, loop=3)
    assert parse_gif((tmp_path / "b.gif").read_bytes())["loop"] == 3


@settings(max_examples=60, deadline=None)
@given(
    suffix=st.sampled_from([".gif", ".png"]),  # the two streamed writers
    data=st.data(),
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    colours=st.integers(1, 255),
    count=st.integers(1, 5),
)
def test_streamed_writers_round_trip_any_palette_frames(
    tmp_path_factory, suffix, data, height, width, colours, count
):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    palette = np.unique(rng.integers(0, 256, (colours, 3)), axis=0).astype(np.uint8)
    frames = [palette[rng.integers(0, len(palette), (height, width))] for _ in range(count)]
    for k in range(1, count):  # mostly small changes, as in an animation
        if rng.random() < 0.7:
            frames[k] = frames[k - 1].copy()
            frames[k][rng.integers(0, height), rng.integers(0, width)] = palette[-1]
    path = tmp_path_factory.mktemp("anim") / f"a{suffix}"
    write_animation(path, frames, duration_ms=100, palette=palette)
    read, _ = read_frames(path)
    assert len(read) == count
    assert all(np.array_equal(r, f) for r, f in zip(read, frames, strict=True))
    if suffix == ".gif":
        assert len(parse_gif(path.read_bytes())["frames"]) == count
    else:
        assert parse_png(path.read_bytes())["acTL"] == (count, 0)


@settings(max_examples=60, deadline=None)
@given(
    suffix=st.sampled_from([".gif", ".png"]),
    transparent=st.booleans(),
    unchanged=st.sampled_from([None, True, False]),
    data=st.data(),
)
def test_streamed_writers_round_trip_changes_far_apart_from_one_buffer(
    tmp_path_factory, suffix, transparent, unchanged, data
):
    # Blocks change at once in rows far apart (each run of changed rows is mapped
    # in its own box), appear and vanish (with transparency), and every frame
    # comes in one reused buffer while the writer updates its indices in place.
    transparent = transparent and suffix == ".gif"  # a transparent APNG goes through Pillow
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    height, width = int(rng.integers(8, 40)), int(rng.integers(1, 30))
    colours = np.concatenate([PALETTE, np.full((len(PALETTE), 1), 255, np.uint8)], axis=1)
    frames = [colours[rng.integers(0, len(PALETTE), (height, width))]]
    for _ in range(int(rng.integers(1, 6))):
        frame = frames[-1].copy()
        for _ in range(int(rng.integers(0, 4))):
            top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
            block = frame[
                top : top + int(rng.integers(1, 4)), left : left + int(rng.integers(1, 6))
            ]
            block[...] = colours[rng.integers(0, len(PALETTE))]
            if transparent and rng.random() < 0.4:
                block[..., 3] = 0
        frames.append(frame)
    buffer = np.empty_like(frames[0])

    def reused() -> Iterator[np.ndarray]:
        for frame in frames:
            buffer[...] = frame
            yield buffer

    path = tmp_path_factory.mktemp("anim") / f"a{suffix}"
    options = {"transparent": transparent}
    if suffix == ".gif":
        options["unchanged_transparency"] = unchanged
    write_animation(path, reused(), duration_ms=100, palette=PALETTE, **options)
    read, _ = read_frames(path, "RGBA")
    assert len(read) == len(frames)
    for got, frame in zip(read, frames, strict=True):
        shown = frame[..., 3] == 255
        assert np.array_equal(got[..., 3] > 0, shown)
        assert np.array_equal(got[shown][:, :3], frame[shown][:, :3])


@settings(max_examples=100, deadline=None)
@given(data=st.data(), clear=st.integers(0, 255))
def test_where_by_arithmetic_is_np_where(data, clear):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    shape = tuple(int(n) for n in rng.integers(0, 20, 2))
    indices = rng.integers(0, 256, shape).astype(np.uint8)
    keep = rng.random(shape) < rng.random()
    expected = np.where(keep, indices, np.uint8(clear))
    assert np.array_equal(_where(keep, indices, clear), expected)
    assert _where(keep, indices, clear).dtype == np.uint8


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_bands_hold_every_true_pixel_in_one_tight_box_per_run_of_rows(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    height, width = (int(n) for n in rng.integers(1, 30, 2))
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(int(rng.integers(0, 5))):
        top, left = (int(n) for n in rng.integers(0, (height, width)))
        mask[top : top + int(rng.integers(1, 5)), left : left + int(rng.integers(1, 8))] = True
    bands = _bands(mask)
    covered = np.zeros_like(mask)
    for left, top, band_width, band_height in bands:
        inside = mask[top : top + band_height, left : left + band_width]
        # tight: every edge row and column of the box holds a true pixel
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        assert inside.any(axis=1).all()  # a run of rows that all hold one
        assert not mask[top : top + band_height, :left].any()
        assert not mask[top : top + band_height, left + band_width :].any()
        covered[top : top + band_height, left : left + band_width] = True
    assert not (mask & ~covered).any()
    # one box per run: the boxes' rows never touch
    spans = sorted((top, top + band_height) for _, top, _, band_height in bands)
    assert all(stop < start for (_, stop), (start, _) in itertools.pairwise(spans))


def test_transparent_gif_shows_alpha_correctly_including_the_loop(tmp_path):
    frames = list(on_transparent())
    write_animation(tmp_path / "t.gif", frames, duration_ms=100, palette=PALETTE, transparent=True)
    read, _ = read_frames(tmp_path / "t.gif", "RGBA")
    assert len(read) == len(frames)
    for got, frame in zip(read, frames, strict=True):
        opaque = frame[..., 3] >= 128
        assert np.array_equal(got[..., 3] == 255, opaque)
        assert (got[..., 3][~opaque] == 0).all()
        assert np.array_equal(got[..., :3][opaque], frame[..., :3][opaque])
    gif = parse_gif((tmp_path / "t.gif").read_bytes())
    assert all(f["transparent"] and f["index"] == len(PALETTE) for f in gif["frames"])
    # The loop restarts on frame 0 over what the last frame leaves after its disposal.
    last = gif["frames"][-1]
    canvas = read[-1].copy()
    if last["disposal"] == 2:
        left, top, width, height = last["box"]
        canvas[top : top + height, left : left + width] = 0
    first = read[0]
    drawn = first[..., 3] == 255
    canvas[drawn] = first[drawn]
    assert np.array_equal(canvas[..., 3] == 255, drawn)


def test_transparent_gif_clears_pixels_outside_the_previous_frames_box(tmp_path):
    # frame 1 changes only the right block; frame 2 removes the left one
    frames = [np.zeros((20, 40, 4), np.uint8) for _ in range(3)]
    for frame in frames:
        frame[5:15, 25:35] = (*BLUE, 255)
    frames[0][5:15, 5:15] = frames[1][5:15, 5:15] = (*CYAN, 255)
    frames[1][5:15, 25:35] = (*SHADE, 255)
    write_animation(tmp_path / "t.gif", frames, duration_ms=100, palette=PALETTE, transparent=True)
    read, _ = read_frames(tmp_path / "t.gif", "RGBA")
    for got, frame in zip(read, frames, strict=True):
        assert np.array_equal(got[..., 3], frame[..., 3])
    assert parse_gif((tmp_path / "t.gif").read_bytes())["frames"][1]["disposal"] == 2


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_streamed_writers_hold_no_more_than_a_few_frames(tmp_path, suffix):
    palette_mapper(PALETTE)  # the lookup table is built once per palette and cached

    def frames() -> Iterator[np.ndarray]:
        yield from sliding_window(9, size=(300, 300))
        for _ in range(91):  # 100 frames, 36 MB of input in total
            yield from sliding_window(1, size=(300, 300))

    tracemalloc.start()
    try:
        write_animation(tmp_path / f"a{suffix}", frames(), duration_ms=100, palette=PALETTE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * 300 * 300 * 4  # a few frames' worth, not 100


# --------------------------------------------------------------------------------------
# APNG and WebP


def test_apng_structure_frames_sequence_and_boxes(tmp_path):
    write_animation(tmp_path / "a.png", sliding_window(9), duration_ms=250, palette=PALETTE)
    png = parse_png((tmp_path / "a.png").read_bytes())
    assert png["IHDR"] == (80, 60, 8, 3)  # 8-bit indexed
    assert png["acTL"] == (9, 0)
    assert len(png["fcTL"]) == 9
    assert png["fcTL"][0]["box"] == (0, 0, 80, 60)
    assert all(c["delay"][0] * 1000 == 250 * c["delay"][1] for c in png["fcTL"])
    assert all(c["dispose"] == 0 for c in png["fcTL"])
    assert all(c["box"][2] * c["box"][3] < 80 * 60 / 2 for c in png["fcTL"][1:])


def test_apng_draws_unchanged_pixels_transparent_over_the_previous_frame(tmp_path):
    frames = outline_over_texture()
    write_animation(tmp_path / "a.png", frames, duration_ms=100, palette=PALETTE)
    read, _ = read_frames(tmp_path / "a.png")
    assert all(np.array_equal(g, f) for g, f in zip(read, frames, strict=True))
    blends = [c["blend"] for c in parse_png((tmp_path / "a.png").read_bytes())["fcTL"]]
    assert blends[0] == 0 and 1 in blends[1:]  # 1: "over", the reserved index keeps pixels


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_apng_and_webp_read_back_palette_mapped_frames(tmp_path, suffix):
    rng = np.random.default_rng(9)
    frames = []
    for frame in sliding_window(9):
        frames.append((frame.astype(np.int16) + rng.integers(-20, 21, frame.shape)).clip(0, 255))
    frames = [f.astype(np.uint8) for f in frames]
    path = tmp_path / f"a{suffix}"
    written = write_animation(path, frames, duration_ms=1000, palette=PALETTE)
    assert written.frame_count == 9
    read, infos = read_frames(path)
    assert len(read) == 9
    mapper = palette_mapper(PALETTE)
    for got, frame in zip(read, frames, strict=True):
        assert np.array_equal(got, mapper.colours(frame))
    assert [info["duration"] for info in infos] == [1000] * 9
    with Image.open(path) as image:
        assert image.info["loop"] == 0
        assert image.size == (80, 60)
        assert image.format == ("PNG" if suffix == ".png" else "WEBP")


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_apng_and_webp_without_palette_are_lossless(tmp_path, suffix):
    rng = np.random.default_rng(10)
    frames = [rng.integers(0, 256, (24, 30, 3)).astype(np.uint8) for _ in range(3)]
    write_animation(tmp_path / f"a{suffix}", frames, duration_ms=33)
    read, infos = read_frames(tmp_path / f"a{suffix}")
    assert all(np.array_equal(r, f) for r, f in zip(read, frames, strict=True))
    assert [info["duration"] for info in infos] == [33] * 3


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_apng_and_webp_keep_alpha(tmp_path, suffix):
    frames = list(on_transparent())
    write_animation(
        tmp_path / f"t{suffix}", frames, duration_ms=100, palette=PALETTE, transparent=True
    )
    read, _ = read_frames(tmp_path / f"t{suffix}", "RGBA")
    mapper = palette_mapper(PALETTE)
    for got, frame in zip(read, frames, strict=True):
        assert np.array_equal(got[..., 3], frame[..., 3])
        visible = frame[..., 3] > 0
        assert np.array_equal(got[..., :3][visible], mapper.colours(frame)[visible])


# --------------------------------------------------------------------------------------
# Determinism and atomic writes


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
@pytest.mark.parametrize("transparent", [False, True])
def test_same_frames_give_the_same_bytes(tmp_path, suffix, transparent):
    first, second = tmp_path / f"1{suffix}", tmp_path / f"2{suffix}"
    frames = on_transparent if transparent else sliding_window
    options = {"duration_ms": 100, "palette": PALETTE, "transparent": transparent}
    write_animation(first, frames(), **options)
    write_animation(second, frames(), **options)
    assert sha256(first) == sha256(second)
    assert b"Pillow" not in first.read_bytes() and b"tIME" not in first.read_bytes()


def failing_frames(error: BaseException, after: int = 3) -> Iterator[np.ndarray]:
    frames = sliding_window(9)
    for _ in range(after):
        yield next(frames)
    raise error


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_mid_way_leaves_no_file(tmp_path, suffix, error):
    with pytest.raises(type(error)):
        write_animation(
            tmp_path / f"a{suffix}", failing_frames(error), duration_ms=100, palette=PALETTE
        )
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_mid_way_keeps_an_existing_good_file(tmp_path, suffix, error):
    path = tmp_path / f"a{suffix}"
    write_animation(path, sliding_window(4), duration_ms=100, palette=PALETTE)
    before = path.read_bytes()
    with pytest.raises(type(error)):
        write_animation(path, failing_frames(error), duration_ms=100, palette=PALETTE)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == [path.name]


def test_bad_frames_leave_no_file(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        write_animation(tmp_path / "a.gif", [], duration_ms=100)
    frames = [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)]
    with pytest.raises(ValueError, match="same size"):
        write_animation(tmp_path / "a.gif", frames, duration_ms=100)
    with pytest.raises(ValueError, match="uint8"):
        write_animation(tmp_path / "a.gif", [np.zeros((4, 4, 3))], duration_ms=100)
    with pytest.raises(ValueError, match="duration_ms"):
        write_animation(tmp_path / "a.gif", sliding_window(2), duration_ms=0)
    assert leftovers(tmp_path) == []


def test_atomic_path_replaces_on_success_and_cleans_up_on_interrupt(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary != target
        temporary.write_text("partial")
        raise KeyboardInterrupt
    assert target.read_text() == "good"
    assert leftovers(tmp_path) == ["out.txt"]
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == ["out.txt"]


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_animation(tmp_path / "a.gif", sliding_window(2), duration_ms=100)
    finally:
        os.umask(old)
    assert (tmp_path / "a.gif").stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------------------
# PNG stills and frame folders


def test_write_image_round_trips_and_drops_opaque_alpha(tmp_path):
    frame = next(sliding_window(1))
    written = write_image(tmp_path / "s.png", frame)
    assert written.frame_count == 1 and written.size_bytes == (tmp_path / "s.png").stat().st_size
    with Image.open(tmp_path / "s.png") as image:
        assert image.mode == "RGB"
        assert np.array_equal(np.asarray(image), frame[..., :3])
    frame[0:5, 0:5, 3] = 0
    write_image(tmp_path / "t.png", frame)
    with Image.open(tmp_path / "t.png") as image:
        assert np.array_equal(np.asarray(image.convert("RGBA"))[..., 3], frame[..., 3])


def test_write_image_refuses_other_suffixes(tmp_path):
    with pytest.raises(OutputError, match=r"^--output: unknown suffix '\.gif'"):
        write_image(tmp_path / "s.gif", next(sliding_window(1)))


def test_write_frames_numbers_with_three_digits_at_least(tmp_path):
    frames = list(sliding_window(12))
    written = write_frames(tmp_path / "new" / "frames", frames)
    names = [f"step_{k:03d}.png" for k in range(12)]
    assert leftovers(tmp_path / "new" / "frames") == names
    assert written.frame_count == 12
    assert written.size_bytes == sum(
        (tmp_path / "new" / "frames" / n).stat().st_size for n in names
    )
    with Image.open(tmp_path / "new" / "frames" / "step_007.png") as image:
        assert np.array_equal(np.asarray(image), frames[7][..., :3])


def test_write_frames_from_an_iterator_uses_four_digits_and_replaces_a_run(tmp_path):
    (tmp_path / "step_00.png").write_bytes(b"old run")
    (tmp_path / "notes.txt").write_text("keep")
    write_frames(tmp_path, sliding_window(3), stem="step")
    assert leftovers(tmp_path) == ["notes.txt", "step_0000.png", "step_0001.png", "step_0002.png"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_write_frames_failure_keeps_the_old_run(tmp_path, error):
    write_frames(tmp_path / "f", list(sliding_window(3)))
    before = {p.name: p.read_bytes() for p in (tmp_path / "f").iterdir()}
    with pytest.raises(type(error)):
        write_frames(tmp_path / "f", failing_frames(error))
    assert {p.name: p.read_bytes() for p in (tmp_path / "f").iterdir()} == before
    with pytest.raises(type(error)):
        write_frames(tmp_path / "g", failing_frames(error))
    assert not (tmp_path / "g").exists()


def test_write_frames_is_deterministic(tmp_path):
    write_frames(tmp_path / "a", list(sliding_window(3)))
    write_frames(tmp_path / "b", list(sliding_window(3)))
    for name in leftovers(tmp_path / "a"):
        assert sha256(tmp_path / "a" / name) == sha256(tmp_path / "b" / name)


def test_write_frames_refuses_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"^--frames: .* is not a directory"):
        write_frames(tmp_path / "file", sliding_window(1))


# --------------------------------------------------------------------------------------
# matplotlib figures


def make_figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    axes = figure.add_subplot()
    axes.plot([0, 1, 2], [1, 0, 1], label="line")
    axes.fill_between([0, 1], [0, 1], alpha=0.4)
    axes.set_title("step 1")
    return figure


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".png"])
def test_save_figure_is_reproducible_and_unstamped(tmp_path, suffix):
    import matplotlib

    first = save_figure(tmp_path / f"a{suffix}", make_figure())
    second = save_figure(tmp_path / f"b{suffix}", make_figure())
    assert first.frame_count == 1 and first.size_bytes > 0
    data = first.path.read_bytes()
    assert data == second.path.read_bytes()
    assert matplotlib.__version__.encode() not in data
    assert b"CreationDate" not in data and b"<dc:date>" not in data
    assert leftovers(tmp_path) == [f"a{suffix}", f"b{suffix}"]


def test_save_figure_refuses_other_suffixes(tmp_path):
    with pytest.raises(
        OutputError, match=r"^--output: unknown suffix '\.gif'; use \.png, \.svg or \.pdf$"
    ):
        save_figure(tmp_path / "a.gif", make_figure())


def test_save_figure_failure_keeps_an_existing_file(tmp_path):
    path = tmp_path / "a.svg"
    save_figure(path, make_figure())
    before = path.read_bytes()

    class Broken:
        def savefig(self, *args, **kwargs):
            Path(args[0]).write_text("partial")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_figure(path, Broken())
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == ["a.svg"]


def test_module_imports_no_drawing_library():
    import subprocess
    import sys

    code = "import convgif.writers, sys; print('matplotlib' in sys.modules, 'PIL' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.split() == ["False", "False"]


def test_a_failed_write_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "figure.gif"
    with pytest.raises(OSError) as caught, atomic_path(target):
        pass
    assert caught.value.filename == str(target)
