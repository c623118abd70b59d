"""Video (``-o fig.mp4`` / ``.webm``): H.264 or VP9, yuv420p, even size, exact durations.

The MP4s are read back by an MP4 box reader written here from ISO/IEC 14496-12
(ftyp, moov before mdat, one video track, sample durations in the media's
timescale) and decoded by ffmpeg through imageio; the frames are synthetic.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

from convgif import ConvSpec
from convgif.api import RenderOptions, render_to_file
from convgif.cli import cli
from convgif.errors import RenderError
from convgif.writers import OutputError, write_video

BLUE, CYAN, DARK = (38, 139, 210), (42, 161, 152), (7, 54, 66)


def blocks(count: int = 5, size: tuple[int, int] = (41, 63), alpha: bool = True):
    """A white image with a blue grid and a dark block moving step by step."""
    height, width = size
    for step in range(count):
        frame = np.full((height, width, 4 if alpha else 3), 255, dtype=np.uint8)
        frame[height // 2 : height - 4, 4 : width - 4, :3] = BLUE
        frame[4:14, 6 * step : 6 * step + 12, :3] = DARK
        yield frame


# --------------------------------------------------------------------------------------
# An MP4 box reader


CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts"}


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """``(type, body start, end)`` of each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[start + 8 : start + 16])[0], 16
        assert size >= head, f"bad box size {size} at {start}"
        yield kind, start + head, start + size
        start += size
    assert start == end, "boxes overrun their parent"


def box_tree(data: bytes) -> list[tuple[str, bytes, int, int]]:
    """Every box, depth first, with its path (``moov/trak/...``)."""
    found = []

    def walk(start: int, end: int, parent: str) -> None:
        for kind, body, stop in boxes(data, start, end):
            path = f"{parent}/{kind.decode()}" if parent else kind.decode()
            found.append((path, kind, body, stop))
            if kind in CONTAINERS:
                walk(body, stop, path)

    walk(0, len(data), "")
    return found


def mp4_facts(data: bytes) -> dict:
    """Top-level order, tracks, handler types, timescale, sample durations, sample entry."""
    tree = box_tree(data)
    by_path: dict[str, list[tuple[int, int]]] = {}
    for path, _, body, stop in tree:
        by_path.setdefault(path, []).append((body, stop))
    body, _ = by_path["moov/trak/mdia/mdhd"][0]
    version = data[body]
    timescale = struct.unpack(">I", data[body + (20 if version else 12) :][:4])[0]
    body, _ = by_path["moov/trak/mdia/minf/stbl/stts"][0]
    (entries,) = struct.unpack(">I", data[body + 4 : body + 8])
    deltas = []
    for index in range(entries):
        count, delta = struct.unpack(">II", data[body + 8 + 8 * index : body + 16 + 8 * index])
        deltas += [delta] * count
    body, _ = by_path["moov/trak/mdia/minf/stbl/stsd"][0]
    sample_entry = data[body + 12 : body + 16]  # after version/flags, count and entry size
    width, height = struct.unpack(">HH", data[body + 8 + 32 : body + 8 + 36])
    handlers = [data[b + 8 : b + 12] for b, _ in by_path["moov/trak/mdia/hdlr"]]
    return {
        "top": [path for path, *_ in tree if "/" not in path],
        "tracks": len(by_path["moov/trak"]),
        "handlers": handlers,
        "timescale": timescale,
        "deltas": deltas,
        "codec": sample_entry,
        "size": (width, height),
        "udta": data[slice(*by_path["moov/udta"][0])] if "moov/udta" in by_path else b"",
    }


# --------------------------------------------------------------------------------------
# MP4


@pytest.mark.parametrize("duration_ms", [1, 7, 333, 1000, 655_350])
def test_every_frame_is_held_exactly_its_duration(tmp_path: Path, duration_ms: int) -> None:
    written = write_video(tmp_path / "a.mp4", blocks(5), duration_ms=duration_ms)
    facts = mp4_facts(written.path.read_bytes())
    assert written.frame_count == 5
    assert len(facts["deltas"]) == 5
    # delta / timescale == duration_ms / 1000, in integers
    assert all(d * 1000 == duration_ms * facts["timescale"] for d in facts["deltas"]), facts


def test_mp4_is_h264_one_video_track_index_first(tmp_path: Path) -> None:
    written = write_video(tmp_path / "a.mp4", blocks(4), duration_ms=500)
    facts = mp4_facts(written.path.read_bytes())
    assert facts["top"][0] == "ftyp"
    assert facts["top"].index("moov") < facts["top"].index("mdat")  # +faststart
    assert facts["tracks"] == 1 and facts["handlers"] == [b"vide"]  # no audio
    assert facts["codec"] == b"avc1"
    meta = iio.immeta(written.path, plugin="FFMPEG")
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")


def test_odd_sizes_are_padded_with_the_background(tmp_path: Path) -> None:
    frames = list(blocks(3, size=(41, 63)))
    written = write_video(tmp_path / "a.mp4", frames, duration_ms=100)
    assert mp4_facts(written.path.read_bytes())["size"] == (64, 42)
    decoded = list(iio.imiter(written.path, plugin="FFMPEG"))
    assert len(decoded) == 3
    assert decoded[0].shape == (42, 64, 3)
    # The added row and column are the corner's white, the picture is the frames'
    # (lossy: close, not equal).
    assert decoded[0][41].min() > 235 and decoded[0][:, 63].min() > 235
    for frame, back in zip(frames, decoded, strict=True):
        error = np.abs(back[:41, :63].astype(int) - frame[..., :3].astype(int))
        assert error.mean() < 4, error.mean()


def test_padding_colour_can_be_given(tmp_path: Path) -> None:
    written = write_video(tmp_path / "a.mp4", blocks(2), duration_ms=100, background=DARK)
    decoded = next(iter(iio.imiter(written.path, plugin="FFMPEG"))).astype(int)
    # The padded row is dark next to the frame's white last row (their colour is
    # shared in yuv420p, so compare brightness).
    assert decoded[41].mean() < 100 < 200 < decoded[40].mean()


def test_alpha_is_composited_over_the_background(tmp_path: Path) -> None:
    frames = []
    for frame in blocks(2):
        frame[..., 3] = 0  # everything transparent ...
        frame[4:14, :, 3] = 255  # ... but a band
        frames.append(frame)
    written = write_video(tmp_path / "a.mp4", frames, duration_ms=100, background=CYAN)
    decoded = next(iter(iio.imiter(written.path, plugin="FFMPEG")))
    assert np.abs(decoded[30, 30].astype(int) - CYAN).max() < 12  # transparent: background
    assert np.abs(decoded[8, 3].astype(int) - DARK).max() < 16  # opaque: the frame


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_same_frames_same_bytes(tmp_path: Path, suffix: str) -> None:
    first = write_video(tmp_path / f"a{suffix}", blocks(6, alpha=False), duration_ms=250)
    second = write_video(tmp_path / f"b{suffix}", blocks(6, alpha=False), duration_ms=250)
    assert first.path.read_bytes() == second.path.read_bytes()


def test_no_library_versions_in_the_file(tmp_path: Path) -> None:
    data = write_video(tmp_path / "a.mp4", blocks(2), duration_ms=100).path.read_bytes()
    # ffmpeg stamps "Lavf61.7.100" (muxer) and "Lavc61..." (encoder) unless told not to.
    assert re.search(rb"Lav[fc]\d", data) is None


def test_frames_may_be_one_reused_buffer(tmp_path: Path) -> None:
    def reused():
        buffer = np.empty((41, 63, 4), dtype=np.uint8)
        for frame in blocks(4):
            buffer[...] = frame
            yield buffer

    one = write_video(tmp_path / "a.mp4", reused(), duration_ms=100).path.read_bytes()
    assert one == write_video(tmp_path / "b.mp4", blocks(4), duration_ms=100).path.read_bytes()


# --------------------------------------------------------------------------------------
# WebM


def test_webm_is_vp9_with_exact_durations(tmp_path: Path) -> None:
    written = write_video(tmp_path / "a.webm", blocks(4), duration_ms=250)
    data = written.path.read_bytes()
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML
    assert b"webm" in data[:64] and b"V_VP9" in data
    assert b"A_" not in data.split(b"V_VP9")[1][:200]  # no audio track entry
    meta = iio.immeta(written.path, plugin="FFMPEG")
    assert meta["codec"] == "vp9"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert meta["duration"] == pytest.approx(1.0, abs=0.002)
    assert len(list(iio.imiter(written.path, plugin="FFMPEG"))) == 4


# --------------------------------------------------------------------------------------
# Refusals


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    ("frames", "duration_ms", "error"),
    [
        ([], 100, ValueError),
        ([np.zeros((4, 4, 3), np.uint8), np.zeros((6, 4, 3), np.uint8)], 100, ValueError),
        ([np.zeros((4, 4, 3), np.float32)], 100, ValueError),
        ([np.zeros((4, 4, 3), np.uint8)], 0, ValueError),
        ([np.zeros((4, 4, 3), np.uint8)], 1.5, ValueError),
    ],
)
def test_bad_frames_write_nothing(tmp_path: Path, frames, duration_ms, error) -> None:
    with pytest.raises(error):
        write_video(tmp_path / "a.mp4", frames, duration_ms=duration_ms)
    assert leftovers(tmp_path) == []


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^--output: unknown suffix '\.avi'; use \.mp4 or"):
        write_video(tmp_path / "a.avi", blocks(1), duration_ms=100)


def test_an_existing_file_survives_a_failed_write(tmp_path: Path) -> None:
    target = tmp_path / "a.mp4"
    target.write_bytes(b"good")

    def failing():
        yield from blocks(2)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(target, failing(), duration_ms=100)
    assert target.read_bytes() == b"good"
    assert leftovers(tmp_path) == ["a.mp4"]


# --------------------------------------------------------------------------------------
# The command line and the API


SMALL = ConvSpec(input_size=4, kernel_size=3)  # 4 steps


def test_render_writes_mp4_with_the_duration_and_the_clis_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["render", "--input-size", "4", "--duration-ms", "400", "-o", "fig.mp4"]
    )
    assert result.exit_code == 0, result.output
    data = (tmp_path / "fig.mp4").read_bytes()
    facts = mp4_facts(data)
    assert len(facts["deltas"]) == SMALL.step_count
    assert all(d * 1000 == 400 * facts["timescale"] for d in facts["deltas"])
    written = render_to_file(SMALL, tmp_path / "api.mp4", RenderOptions(duration_ms=400))
    assert written.path.read_bytes() == data


def test_transparent_video_is_refused_before_drawing(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"^--transparent: \.webm video has no transparency"):
        render_to_file(SMALL, tmp_path / "a.webm", RenderOptions(transparent=True))
    assert leftovers(tmp_path) == []


def test_a_video_still_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"^--step: draws one still, .* not \.mp4"):
        render_to_file(SMALL, tmp_path / "a.mp4", RenderOptions(step=1))
