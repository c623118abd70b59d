"""The HTML player: one self-contained file that plays, pauses and steps an animation.

Like the other writers it knows nothing of convolutions: it takes frames (``uint8``
RGB or RGBA arrays of one size), the time each is shown, optional per-frame text
and an alternative text for the whole.

The frames are embedded as PNG data URIs, nothing is fetched: the first frame
whole, then for each frame only the box that changed since the previous one,
which a small script draws onto a canvas (measured on the gallery's
``padding_strides``: 44 kB of PNGs against 53 kB for whole frames and 40 kB for
one sprite sheet; on a 16x16 input's 196 frames, 211 kB against 597 kB and
492 kB). Without JavaScript the first frame shows, as an ``<img>`` with its alt
text.

Controls carry ``data-convgif`` attributes so that pages and tests can script
them: ``play`` (a toggle button, ``aria-pressed`` while playing), ``prev``,
``next``, ``scrub`` (an ``<input type="range">``), ``speed`` (a ``<select>``),
``step`` (its text reads ``k / N``, 1-based) and ``text`` (the step's text, when
given). The player's element has ``data-convgif-player``; keyboard (when it has
the focus): space plays or pauses, ←/→ step, Home/End go to the first/last step.
Several players on one page are independent: the script defines no globals and
the markup no ids.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Iterable, Sequence

import numpy as np

from convgif.writers import (
    PLAYER_SUFFIXES,
    PaletteMapper,
    Written,
    _changed_box,
    _check_frame,
    _to_image,
    _window,
    atomic_path,
    check_output_path,
    palette_mapper,
)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)

_STYLE = """\
.convgif-player{display:inline-block;max-width:100%;font:14px/1.4 system-ui,-apple-system,\
"Segoe UI",sans-serif;outline-offset:3px;border-radius:4px}
.convgif-player>img,.convgif-player>canvas{display:block;max-width:100%;height:auto}
.convgif-controls{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:6px}
.convgif-player [hidden],.convgif-player>[hidden]{display:none}
.convgif-player [aria-pressed=true] .convgif-icon-play,\
.convgif-player [aria-pressed=false] .convgif-icon-pause{display:none}
.convgif-controls button{display:inline-flex;align-items:center;justify-content:center;\
width:32px;height:28px;padding:0;border:1px solid #8888;border-radius:4px;\
background:transparent;color:inherit;cursor:pointer}
.convgif-controls button:hover{background:#8882}
.convgif-controls svg{width:14px;height:14px;fill:currentColor}
.convgif-controls input[type=range]{flex:1 1 120px;min-width:80px;margin:0}
.convgif-controls select{height:28px;color:inherit;background:transparent;\
border:1px solid #8888;border-radius:4px}
.convgif-controls option{color:#000;background:#fff}
.convgif-player [data-convgif=step]{min-width:4.5em;text-align:center;\
font-variant-numeric:tabular-nums}
.convgif-player [data-convgif=text]{margin:6px 0 0;font-family:ui-monospace,Menlo,Consolas,\
monospace;white-space:pre-wrap}
"""

_ICONS = {
    "prev": '<path d="M3 2h2v12H3zM14 2v12L6 8z"/>',
    "play": '<path class="convgif-icon-play" d="M4 2v12l10-6z"/>'
    '<path class="convgif-icon-pause" d="M3 2h4v12H3zM9 2h4v12H9z"/>',
    "next": '<path d="M11 2h2v12h-2zM2 2v12l8-6z"/>',
}

# The player's behaviour. It finds its own element (the script is inside it), or,
# where a notebook runs scripts without document.currentScript, every player not
# yet started. State lives in a closure per player.
_SCRIPT = """\
(function () {
  "use strict";
  var me = document.currentScript;
  var own = me && me.parentNode && me.parentNode.closest &&
    me.parentNode.closest("[data-convgif-player]");
  var roots = own ? [own] : document.querySelectorAll("[data-convgif-player]");
  Array.prototype.forEach.call(roots, function (root) {
    if (!root.hasAttribute("data-convgif-ready")) start(root);
  });

  function start(root) {
    root.setAttribute("data-convgif-ready", "");
    var data = JSON.parse(root.querySelector(":scope > script[type='application/json']")
      .textContent);
    var count = data.frames.length;
    var still = root.querySelector(":scope > img");
    var get = function (name) { return root.querySelector("[data-convgif=" + name + "]"); };
    var play = get("play"), scrub = get("scrub"), counter = get("step"),
      speed = get("speed"), text = get("text");
    var patches = data.frames.map(function (frame) {
      if (!frame) return null;
      var image = new Image();
      image.src = frame[2];
      return {x: frame[0], y: frame[1], image: image};
    });
    var canvas = null, context = null, shown = -1, current = 0, timer = null;
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");
    var playing = count > 1 && !(reduce && reduce.matches);

    function apply(patch) {
      if (!patch) return;
      context.clearRect(patch.x, patch.y, patch.image.width, patch.image.height);
      context.drawImage(patch.image, patch.x, patch.y);
    }
    function draw(index) {
      if (!context) return;
      // Each patch holds what changed since the frame before: going back, start over.
      if (shown < 0 || index < shown) {
        context.clearRect(0, 0, canvas.width, canvas.height);
        context.drawImage(still, 0, 0);
        shown = 0;
      }
      while (shown < index) apply(patches[++shown]);
    }
    function show(index) {
      current = (index % count + count) % count;
      draw(current);
      counter.textContent = (current + 1) + " / " + count;
      scrub.value = String(current);
      if (text) text.textContent = data.texts[current];
    }
    function schedule() {
      clearTimeout(timer);
      timer = playing ? setTimeout(function () { show(current + 1); schedule(); },
        data.duration_ms / Number(speed.value)) : null;
    }
    function setPlaying(value) {
      playing = value && count > 1;
      play.setAttribute("aria-pressed", String(playing));
      root.toggleAttribute("data-convgif-playing", playing);
      // Read the step's text aloud when stepping by hand, not at every frame of a play.
      if (text) text.setAttribute("aria-live", playing ? "off" : "polite");
      schedule();
    }
    function go(index) { setPlaying(false); show(index); }

    play.addEventListener("click", function () { setPlaying(!playing); });
    get("prev").addEventListener("click", function () { go(current - 1); });
    get("next").addEventListener("click", function () { go(current + 1); });
    scrub.addEventListener("input", function () { go(Number(scrub.value)); });
    speed.addEventListener("change", schedule);
    root.addEventListener("keydown", function (event) {
      var tag = event.target.tagName;
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      // Controls keep their own keys (a button's space, a slider's arrows).
      if (tag === "BUTTON" || tag === "INPUT" || tag === "SELECT") return;
      var key = event.key;
      if (key === " " || key === "Spacebar") setPlaying(!playing);
      else if (key === "ArrowRight") go(current + 1);
      else if (key === "ArrowLeft") go(current - 1);
      else if (key === "Home") go(0);
      else if (key === "End") go(count - 1);
      else return;
      event.preventDefault();
      event.stopPropagation();  // e.g. reveal.js would change slides
    });

    var images = [still].concat(patches.filter(Boolean).map(function (p) { return p.image; }));
    Promise.all(images.map(function (image) { return image.decode(); })).then(function () {
      canvas = document.createElement("canvas");
      canvas.width = data.width;
      canvas.height = data.height;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", still.alt);
      context = canvas.getContext("2d");
      root.insertBefore(canvas, still);
      still.hidden = true;
      shown = -1;
      show(current);
      if (count > 1) root.querySelector(".convgif-controls").hidden = false;
      setPlaying(playing);
    });
  }
})();
"""


def _png_data_uri(frame: np.ndarray, mapper: PaletteMapper | None, *, transparent: bool) -> str:
    """A PNG data URI of ``frame``: palette mode when it can be (smaller)."""
    buffer = io.BytesIO()
    image = _to_image(np.ascontiguousarray(frame), mapper, transparent=transparent)
    image.save(buffer, format="PNG", compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _script_json(value: object) -> str:
    """JSON safe inside ``<script>``: no ``</script>`` or ``<!--`` can appear."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def _icon(name: str) -> str:
    return f'<svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">{_ICONS[name]}</svg>'


def player_html(
    frames: Iterable[np.ndarray],
    *,
    duration_ms: int,
    step_texts: Sequence[str] | None = None,
    alt: str = "",
    palette: np.ndarray | None = None,
    transparent: bool = False,
) -> str:
    """The player as an HTML fragment: one ``<div>`` with its style and script inside.

    Paste it into any page (several on one page are independent), or see
    :func:`write_player` for a whole document.

    Parameters
    ----------
    frames
        ``uint8`` RGB or RGBA arrays, all of one size, at least one; consumed one
        at a time (may be one reused buffer).
    duration_ms
        Time each frame is shown at speed 1×.
    step_texts
        One text per frame, shown under the controls as selectable text and read
        by screen readers when stepping; None for none.
    alt
        What the animation shows, for screen readers and when it cannot play.
    palette
        ``(N <= 255, 3)`` colours every pixel is mapped to (nearest, no dither),
        as the GIF writer does; None keeps the frames' colours exactly.
    transparent
        Keep the frames' alpha; otherwise they are drawn opaque.

    Returns
    -------
    str
    """
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms <= 0:
        raise ValueError(f"duration_ms must be a positive whole number, not {duration_ms!r}")
    texts = None if step_texts is None else [str(t) for t in step_texts]
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("no frames to write")
    first = _check_frame(first)
    mapper = palette_mapper(palette) if palette is not None else None
    keep_alpha = transparent and first.shape[2] == 4
    still = _png_data_uri(first, mapper, transparent=keep_alpha)
    previous = first.copy()  # the frames may be one reused buffer
    patches: list[list[int | str] | None] = [None]  # frame 0 is the <img>
    for frame in iterator:
        frame = _check_frame(frame, first.shape)
        left, top, width, height = _changed_box(previous, frame)
        if not (width and height):
            patches.append(None)  # the same picture: nothing to draw
            continue
        window = _window((left, top, width, height))
        uri = _png_data_uri(frame[window], mapper, transparent=keep_alpha)
        patches.append([left, top, uri])
        previous[window] = frame[window]
    count = len(patches)
    if texts is not None and len(texts) != count:
        raise ValueError(f"step_texts has {len(texts)} texts for {count} frames")
    data = {
        "width": int(first.shape[1]),
        "height": int(first.shape[0]),
        "duration_ms": duration_ms,
        "frames": patches,
        "texts": texts,
    }
    alt_text = html.escape(alt)
    speeds = "".join(
        f'<option value="{s:g}"{" selected" if s == 1 else ""}>{s:g}×</option>' for s in SPEEDS
    )
    parts = [
        f'<div class="convgif-player" data-convgif-player="1" tabindex="0" '
        f'role="group" aria-roledescription="animation player" aria-label="{alt_text}">',
        f"<style>{_STYLE}</style>",
        f'<img src="{still}" alt="{alt_text}" width="{data["width"]}" height="{data["height"]}">',
        '<div class="convgif-controls" hidden>',
        f'<button type="button" data-convgif="prev" aria-label="Previous step" '
        f'title="Previous step (←)">{_icon("prev")}</button>',
        f'<button type="button" data-convgif="play" aria-label="Play" aria-pressed="false" '
        f'title="Play / pause (space)">{_icon("play")}</button>',
        f'<button type="button" data-convgif="next" aria-label="Next step" '
        f'title="Next step (→)">{_icon("next")}</button>',
        f'<input type="range" data-convgif="scrub" min="0" max="{count - 1}" step="1" '
        f'value="0" aria-label="Step">',
        f'<span data-convgif="step">1 / {count}</span>',
        f'<select data-convgif="speed" aria-label="Speed" title="Speed">{speeds}</select>',
        "</div>",
    ]
    if texts is not None:
        parts.append(f'<p data-convgif="text" aria-live="polite">{html.escape(texts[0])}</p>')
    parts += [
        f'<script type="application/json">{_script_json(data)}</script>',
        f"<script>{_SCRIPT}</script>",
        "</div>",
    ]
    return "\n".join(parts)


# The whole document allows no fetch at all: only inline style and script, and
# images from data URIs.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def write_player(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    duration_ms: int,
    step_texts: Sequence[str] | None = None,
    alt: str = "",
    palette: np.ndarray | None = None,
    transparent: bool = False,
) -> Written:
    """Write the player (:func:`player_html`) as one self-contained ``.html`` document.

    The document's Content-Security-Policy forbids every network request.

    Returns
    -------
    Written
    """
    target = check_output_path(path, PLAYER_SUFFIXES)
    counted = _Counted(frames)
    fragment = player_html(
        counted,
        duration_ms=duration_ms,
        step_texts=step_texts,
        alt=alt,
        palette=palette,
        transparent=transparent,
    )
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{html.escape(alt or 'convgif animation')}</title>\n</head>\n<body>\n"
        f"{fragment}\n</body>\n</html>\n"
    )
    with atomic_path(target) as temporary:
        temporary.write_text(document, encoding="utf-8")
    return Written(target, counted.count, target.stat().st_size)


class _Counted:
    """The frames of an iterable, counted as they are taken."""

    def __init__(self, frames: Iterable[np.ndarray]) -> None:
        self.frames = frames
        self.count = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for frame in self.frames:
            self.count += 1
            yield frame
