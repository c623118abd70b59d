"""The one base class of every error that is the user's input, not a bug."""

from __future__ import annotations


class ConvgifError(ValueError):
    """Bad input: a spec, a value, a theme, an output path, a gallery entry.

    Every subclass's message is one line that starts with the option it is
    about (``--stride: must be at least 1, got 0``); the CLI prints it as is
    and exits with status 2.
    """


class RenderError(ConvgifError):
    """A render option that cannot be used (``--scale``, ``--step``, a figure too large)."""
