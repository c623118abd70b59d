"""Notebooks: ``convgif.animate(**options)``, a figure that shows itself inline.

>>> import convgif                                                  # doctest: +SKIP
>>> convgif.animate(padding=1, stride=2, numbers=True, theme="dark")  # doctest: +SKIP

The options are those of ``convgif render`` by their long names in snake_case:
the fields of :class:`~convgif.spec.ConvSpec` and of
:class:`~convgif.api.RenderOptions`, read from the dataclasses themselves, so
an option added to either is an option here too.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from convgif.api import (
    RenderOptions,
    _renderer,
    check_drawable,
    check_frame_count,
    check_view,
    path_argument,
    player_arguments,
    render_to_file,
    step_count,
)
from convgif.geometry import Geometry
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from convgif.render import Renderer
    from convgif.writers import Written


def _init_fields(cls: type, derived: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The names a dataclass takes as arguments, less ``derived`` ones."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name not in derived)


# ConvSpec.padding_name is derived from the padding (set by ConvSpec itself).
SPEC_OPTIONS = _init_fields(ConvSpec, frozenset({"padding_name"}))
RENDER_OPTIONS = _init_fields(RenderOptions)


def _unknown(names: list[str]) -> TypeError:
    valid = SPEC_OPTIONS + RENDER_OPTIONS
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, valid, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return TypeError(
        f"animate() got unknown option{'s' if len(names) > 1 else ''} {', '.join(hints)}; "
        f"valid options: {', '.join(valid)}"
    )


class Animation:
    """A figure in a notebook: displays itself as the HTML player.

    Made by :func:`animate`. Everything is checked when it is made; the frames
    are drawn when first shown or asked for.

    Attributes
    ----------
    spec
        The convolution.
    options
        How it is drawn.
    """

    def __init__(self, spec: ConvSpec, options: RenderOptions) -> None:
        # The command line's checks, in its order: what cannot be drawn, the view, the size.
        check_drawable(spec, options)
        check_view(spec, options)
        check_frame_count(spec, options)
        self.spec = spec
        self.options = options
        self._renderer: Renderer = _renderer(spec, options)  # raises on bad values or theme

    @cached_property
    def geometry(self) -> Geometry:
        """The steps: which cells each output reads (:class:`~convgif.geometry.Geometry`)."""
        return Geometry(self.spec)

    @property
    def size_px(self) -> tuple[int, int]:
        """Image ``(width, height)`` in pixels."""
        return self._renderer.size_px

    @property
    def frame_count(self) -> int:
        """Frames drawn: one per step, or one with ``step``."""
        if self.options.step is not None:
            return 1
        return step_count(self.spec, self.options.view, self.options.separable)

    def frames(self) -> list[np.ndarray]:
        """Every frame, ``HxWx4`` RGBA ``uint8`` arrays (just the step's, with ``step``)."""
        if self.options.step is not None:
            return [self._renderer.frame(self.options.step)]
        return [frame.copy() for frame in self._renderer.frames()]

    def save(self, path: str | os.PathLike[str]) -> Written:
        """Write the figure; the suffix picks the format, as ``convgif render -o`` does.

        The bytes are those of the command line with the same options.
        """
        return render_to_file(self.spec, path_argument(path, "path"), self.options)

    def _repr_html_(self) -> str:
        """The HTML player (Jupyter shows it inline)."""
        from convgif.player import player_html

        arguments = player_arguments(self.options, self._renderer)
        step = self.options.step
        if step is None:
            return player_html(self._renderer.frames(), **arguments)
        texts = arguments["step_texts"]
        arguments["step_texts"] = None if texts is None else [texts[step]]
        return player_html([self._renderer.frame(step)], **arguments)

    def __repr__(self) -> str:
        width, height = self.size_px
        return (
            f"<convgif.Animation {self.spec.parameters_text()}; "
            f"{self.frame_count} frame{'s' if self.frame_count != 1 else ''}, "
            f"{width}x{height} px>"
        )


def animate(**options: Any) -> Animation:
    """A figure for a notebook, from the options of ``convgif render`` in snake_case.

    ``animate(padding=1, stride=2, numbers=True, theme="dark")`` is
    ``convgif render --padding 1 --stride 2 --numbers --theme dark``; the
    result shows itself inline (the HTML player: play, pause, step), and has
    :meth:`Animation.save`, :meth:`Animation.frames` and
    :attr:`Animation.geometry`. Durations are ``duration_ms`` (there is no
    ``fps``).

    Raises
    ------
    TypeError
        An unknown option (the message lists the valid ones).
    ConvgifError
        A bad value: the same error, with the same message, as the command line.
    """
    unknown = sorted(set(options) - set(SPEC_OPTIONS) - set(RENDER_OPTIONS))
    if unknown:
        raise _unknown(unknown)
    spec = ConvSpec(**{k: v for k, v in options.items() if k in SPEC_OPTIONS})
    settings = RenderOptions(**{k: v for k, v in options.items() if k in RENDER_OPTIONS})
    return Animation(spec, settings)
