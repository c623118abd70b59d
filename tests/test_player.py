"""The HTML player (``-o fig.html``): its file, read back here, and its behaviour in Chromium.

The file is checked by rebuilding every frame in Python from what it embeds
(the first frame and the changed boxes). The behaviour is checked in a real
headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright: the
tests skip, saying why, where either is missing; ``.ci/run`` installs Chromium.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from convgif import ConvSpec
from convgif.api import RenderOptions, _renderer, render_to_file
from convgif.cli import cli
from convgif.errors import RenderError
from convgif.player import player_html, write_player
from convgif.writers import OutputError, palette_mapper

WHITE, BLUE, CYAN, DARK = (255, 255, 255), (38, 139, 210), (42, 161, 152), (7, 54, 66)
PALETTE = np.array([WHITE, BLUE, CYAN, DARK], dtype=np.uint8)


def sliding(count: int = 9, size: tuple[int, int] = (60, 90), alpha: bool = False):
    """A blue grid, a dark window sliding row-major, a cyan cell per step; one reused buffer."""
    height, width = size
    frame = np.empty((height, width, 4 if alpha else 3), dtype=np.uint8)
    for step in range(count):
        frame[...] = 255
        frame[height // 2 :, 5 : width - 5, :3] = BLUE
        row, col = divmod(step, 3)
        top, left = height // 2 + 2 + 6 * row, 8 + 9 * col
        frame[top : top + 12, left : left + 12, :3] = DARK
        frame[2 + 4 * row : 6 + 4 * row, 30 + 5 * col : 35 + 5 * col, :3] = CYAN
        if alpha:
            frame[: height // 4, :, 3] = 0  # a transparent band
        yield frame


def copies(frames: Iterator[np.ndarray]) -> list[np.ndarray]:
    return [frame.copy() for frame in frames]


# --------------------------------------------------------------------------------------
# The file, read back in Python


def embedded(document: str) -> dict:
    """The player's JSON data and its first frame, from the markup."""
    (data,) = re.findall(r'<script type="application/json">(.*?)</script>', document, re.S)
    (still,) = re.findall(r'<img src="(data:image/png;base64,[^"]*)"', document)
    found = json.loads(data)
    found["still"] = still
    return found


def decode_png(uri: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    with Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :]))) as image:
        return np.asarray(image.convert("RGBA")).copy()


def rebuild(document: str) -> list[np.ndarray]:
    """Every frame the player shows: the first, then each changed box replaced in turn."""
    data = embedded(document)
    canvas = decode_png(data["still"])
    assert canvas.shape[:2] == (data["height"], data["width"])
    shown = [canvas.copy()]
    assert data["frames"][0] is None
    for patch in data["frames"][1:]:
        if patch is not None:
            left, top, uri = patch
            pixels = decode_png(uri)
            canvas[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
        shown.append(canvas.copy())
    return shown


def rgba(frame: np.ndarray) -> np.ndarray:
    if frame.shape[2] == 4:
        return frame
    return np.concatenate([frame, np.full((*frame.shape[:2], 1), 255, np.uint8)], axis=2)


def test_the_file_holds_every_frame_exactly(tmp_path: Path) -> None:
    frames = copies(sliding())
    written = write_player(tmp_path / "a.html", sliding(), duration_ms=500, alt="a window")
    assert written.frame_count == 9
    shown = rebuild(written.path.read_text(encoding="utf-8"))
    assert len(shown) == 9
    for got, want in zip(shown, frames, strict=True):
        np.testing.assert_array_equal(got, rgba(want))


def test_with_a_palette_the_frames_are_mapped_to_it(tmp_path: Path) -> None:
    frames = copies(sliding(alpha=False))
    for frame in frames:
        frame[0, 0] = (250, 250, 250)  # near white: mapped to white
    document = player_html(frames, duration_ms=100, palette=PALETTE)
    mapper = palette_mapper(PALETTE)
    for got, want in zip(rebuild(document), frames, strict=True):
        np.testing.assert_array_equal(got, rgba(mapper.colours(want)))
    assert rebuild(document)[0][0, 0].tolist() == [*WHITE, 255]


def test_transparency_is_kept_only_when_asked(tmp_path: Path) -> None:
    frames = copies(sliding(alpha=True))
    kept = rebuild(player_html(frames, duration_ms=100, transparent=True))
    for got, frame in zip(kept, frames, strict=True):
        want = frame.copy()
        want[frame[..., 3] == 0] = 0  # an invisible pixel's colour is not kept
        np.testing.assert_array_equal(got, want)
    opaque = rebuild(player_html(frames, duration_ms=100))
    assert (opaque[0][..., 3] == 255).all()


def test_only_the_box_that_changed_is_embedded() -> None:
    frames = copies(sliding())
    frames.insert(3, frames[2].copy())  # a frame like the one before: nothing to draw
    data = embedded(player_html(frames, duration_ms=100))
    assert data["frames"][3] is None
    for index in range(1, len(frames)):
        changed = np.argwhere((frames[index] != frames[index - 1]).any(axis=2))
        if index == 3:
            assert len(changed) == 0
            continue
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0) + 1
        patch_left, patch_top, uri = data["frames"][index]
        assert (patch_left, patch_top) == (left, top)
        assert decode_png(uri).shape[:2] == (bottom - top, right - left)


def test_step_texts_are_text_escaped_and_safe_in_the_script() -> None:
    texts = [f"y[{k}] = 1·2 + 3 </script><b>" for k in range(9)]
    document = player_html(sliding(), duration_ms=100, step_texts=texts, alt='a "window"')
    assert f'<p data-convgif="text" aria-live="polite">{html.escape(texts[0])}</p>' in document
    assert embedded(document)["texts"] == texts
    assert document.count("</script>") == 2  # the two script elements' own ends
    assert 'alt="a &quot;window&quot;"' in document


def test_step_texts_must_match_the_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="step_texts has 2 texts for 9 frames"):
        write_player(tmp_path / "a.html", sliding(), duration_ms=100, step_texts=["a", "b"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("frames", "duration_ms"),
    [([], 100), ([np.zeros((4, 4, 3), np.uint8)], 0), ([np.zeros((4, 4), np.uint8)], 100)],
)
def test_bad_input_writes_nothing(tmp_path: Path, frames, duration_ms) -> None:
    with pytest.raises(ValueError):
        write_player(tmp_path / "a.html", frames, duration_ms=duration_ms)
    assert list(tmp_path.iterdir()) == []


def test_only_html_is_written(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^--output: unknown suffix '\.htm'; use \.html"):
        write_player(tmp_path / "a.htm", sliding(), duration_ms=100)


def test_the_document_fetches_nothing_and_has_no_ids(tmp_path: Path) -> None:
    document = write_player(tmp_path / "a.html", sliding(), duration_ms=100).path.read_text()
    assert "Content-Security-Policy" in document and "default-src 'none'" in document
    assert re.search(r"\bid=", document) is None
    assert re.search(r"(src|href)=\"(?!data:)", document) is None
    assert "http:" not in document and "https:" not in document and "url(" not in document
    assert "<link" not in document and "@import" not in document


def test_same_frames_same_bytes(tmp_path: Path) -> None:
    first = write_player(tmp_path / "a.html", sliding(), duration_ms=100, step_texts="abcdefghi")
    second = write_player(tmp_path / "b.html", sliding(), duration_ms=100, step_texts="abcdefghi")
    assert first.path.read_bytes() == second.path.read_bytes()


SPEC = ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2)


def test_render_html_shows_the_figures_frames(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["render", "--padding", "1", "--stride", "2", "-o", "fig.html"]
    )
    assert result.exit_code == 0, result.output
    document = (tmp_path / "fig.html").read_text(encoding="utf-8")
    renderer = _renderer(SPEC, RenderOptions())
    mapper = palette_mapper(renderer.palette())
    shown = rebuild(document)
    assert len(shown) == SPEC.step_count
    for got, frame in zip(shown, renderer.frames(), strict=True):
        np.testing.assert_array_equal(got, rgba(mapper.colours(frame)))
    assert f"convgif animation: {SPEC.parameters_text()}" in document
    api = render_to_file(SPEC, tmp_path / "api.html", RenderOptions())
    assert api.path.read_bytes() == (tmp_path / "fig.html").read_bytes()


def test_an_html_still_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"^--step: draws one still, .* not \.html"):
        render_to_file(SPEC, tmp_path / "a.html", RenderOptions(step=1))


# --------------------------------------------------------------------------------------
# In Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_URL = "http://convgif.test/page.html"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's chromium package "
            "(make chromium, as root) to run the player in a browser; .ci/run does"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Page:
    """A page serving ``body`` at :data:`PAGE_URL`; every other request is recorded and refused."""

    def __init__(self, browser, document: str, players: int = 1) -> None:
        self.page = browser.new_page(viewport={"width": 900, "height": 700})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.route("**/*", self._serve(document))
        self.page.goto(PAGE_URL)
        self.page.wait_for_function(
            f"document.querySelectorAll('[data-convgif-player] > canvas').length === {players}"
        )

    @staticmethod
    def _serve(document: str):
        def handle(route) -> None:
            if route.request.url == PAGE_URL:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)
            else:
                route.abort()

        return handle

    def player(self, index: int = 0):
        return self.page.locator("[data-convgif-player]").nth(index)

    def control(self, name: str, index: int = 0):
        return self.player(index).locator(f"[data-convgif={name}]")

    def counter(self, index: int = 0) -> str:
        return self.control("step", index).inner_text()

    def playing(self, index: int = 0) -> bool:
        return self.control("play", index).get_attribute("aria-pressed") == "true"

    def canvas(self, index: int = 0) -> np.ndarray:
        uri = self.player(index).locator("canvas").evaluate("c => c.toDataURL('image/png')")
        return decode_png(uri)

    def close(self) -> None:
        fetched = [url for url in self.requests if not url.startswith("data:")]
        assert fetched == [PAGE_URL], fetched  # nothing but the page itself
        assert self.errors == []
        self.page.close()


def page_of(*fragments: str) -> str:
    return "<!DOCTYPE html><meta charset=utf-8><body>" + "\n<hr>\n".join(fragments) + "</body>"


@pytest.fixture
def nine(browser):
    """A player of nine frames, one per 100 s (it plays, but never moves during a test)."""
    page = Page(browser, page_of(player_html(sliding(), duration_ms=100_000)))
    yield page
    page.close()


def test_it_plays_by_itself_and_play_toggles(browser) -> None:
    page = Page(browser, page_of(player_html(sliding(), duration_ms=100)))
    assert page.playing()
    page.page.wait_for_function(
        "document.querySelector('[data-convgif=step]').textContent !== '1 / 9'"
    )
    page.control("play").click()
    assert not page.playing()
    paused_at = page.counter()
    page.page.wait_for_timeout(600)  # six frames' time
    assert page.counter() == paused_at
    page.control("play").click()
    assert page.playing()
    page.page.wait_for_function(
        f"document.querySelector('[data-convgif=step]').textContent !== '{paused_at}'"
    )
    page.close()


def test_buttons_and_keys_step_and_show_the_frame(nine: Page) -> None:
    frames = copies(sliding())
    assert nine.counter() == "1 / 9" and nine.playing()
    np.testing.assert_array_equal(nine.canvas(), rgba(frames[0]))
    nine.control("next").click()
    assert nine.counter() == "2 / 9" and not nine.playing()
    np.testing.assert_array_equal(nine.canvas(), rgba(frames[1]))
    nine.control("prev").click()
    nine.control("prev").click()
    assert nine.counter() == "9 / 9"  # wraps round, as the animation loops
    np.testing.assert_array_equal(nine.canvas(), rgba(frames[8]))
    nine.player().focus()
    for key, expected in [
        ("Home", 1),
        ("ArrowRight", 2),
        ("ArrowRight", 3),
        ("End", 9),
        ("ArrowLeft", 8),
    ]:
        nine.page.keyboard.press(key)
        assert nine.counter() == f"{expected} / 9", key
        np.testing.assert_array_equal(nine.canvas(), rgba(frames[expected - 1]))
    nine.page.keyboard.press(" ")
    assert nine.playing()
    nine.page.keyboard.press(" ")
    assert not nine.playing()
    assert nine.page.evaluate("window.scrollY") == 0  # space did not scroll the page


def test_the_scrubber_goes_to_a_step(nine: Page) -> None:
    frames = copies(sliding())
    scrub = nine.control("scrub")
    assert scrub.get_attribute("type") == "range"
    for value in ("5", "2", "8", "0"):
        scrub.fill(value)
        assert nine.counter() == f"{int(value) + 1} / 9"
        np.testing.assert_array_equal(nine.canvas(), rgba(frames[int(value)]))
    assert not nine.playing()
    nine.control("next").click()
    assert scrub.input_value() == "1"


def test_speed_shortens_the_wait(browser) -> None:
    page = Page(browser, page_of(player_html(sliding(), duration_ms=4000)))
    page.control("speed").select_option("4")
    # One frame at 4x is 1 s; at 1x the counter would not move for 4 s.
    page.page.wait_for_function(
        "document.querySelector('[data-convgif=step]').textContent !== '1 / 9'", timeout=3000
    )
    assert page.playing()
    page.close()


def test_two_players_on_one_page_are_independent(browser) -> None:
    nine = player_html(sliding(), duration_ms=100_000, alt="nine")
    four = player_html(sliding(4, size=(40, 50)), duration_ms=100_000, alt="four")
    page = Page(browser, page_of(nine, four), players=2)
    assert [page.counter(0), page.counter(1)] == ["1 / 9", "1 / 4"]
    page.control("next", 0).click()
    page.control("next", 0).click()
    assert [page.counter(0), page.counter(1)] == ["3 / 9", "1 / 4"]
    assert page.playing(1) and not page.playing(0)
    page.player(1).focus()
    page.page.keyboard.press("End")
    assert [page.counter(0), page.counter(1)] == ["3 / 9", "4 / 4"]
    np.testing.assert_array_equal(page.canvas(0), rgba(copies(sliding())[2]))
    np.testing.assert_array_equal(page.canvas(1), rgba(copies(sliding(4, size=(40, 50)))[3]))
    assert page.page.evaluate("Object.keys(window).filter(k => /convgif/i.test(k))") == []
    page.close()


def test_the_step_text_follows_the_step(browser) -> None:
    texts = [f"step {k}: y = {k} + 1" for k in range(9)]
    page = Page(browser, page_of(player_html(sliding(), duration_ms=100_000, step_texts=texts)))
    text = page.control("text")
    assert text.inner_text() == texts[0]
    assert text.get_attribute("aria-live") == "off"  # not read at every frame of a play
    page.control("next").click()
    assert text.inner_text() == texts[1]
    assert text.get_attribute("aria-live") == "polite"
    assert text.evaluate("e => getComputedStyle(e).userSelect") != "none"
    page.close()


def test_the_written_document_plays_offline_and_looks_right(browser, tmp_path: Path) -> None:
    written = render_to_file(SPEC, tmp_path / "fig.html", RenderOptions(duration_ms=100_000))
    page = Page(browser, written.path.read_text(encoding="utf-8"))
    renderer = _renderer(SPEC, RenderOptions())
    frame = palette_mapper(renderer.palette()).colours(renderer.frame(0))
    np.testing.assert_array_equal(page.canvas(), rgba(frame))
    page.control("next").click()
    shot = tmp_path / "player.png"
    page.player().screenshot(path=str(shot))
    with Image.open(shot) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))
    box = page.player().bounding_box()
    assert (width, height) == (round(box["width"]), round(box["height"]))
    # The figure, drawn at its size, is the top of the screenshot, exactly.
    frame = palette_mapper(renderer.palette()).colours(renderer.frame(1))
    np.testing.assert_array_equal(pixels[: frame.shape[0], : frame.shape[1]], frame)
    assert page.counter() == f"2 / {SPEC.step_count}"
    page.close()


def test_without_javascript_the_first_frame_shows(browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_content(page_of(player_html(sliding(), duration_ms=100, alt="a window")))
    image = page.locator("[data-convgif-player] > img")
    assert image.is_visible() and image.get_attribute("alt") == "a window"
    assert not page.locator(".convgif-controls").is_visible()
    context.close()
