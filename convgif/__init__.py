"""convgif: animated figures of convolution arithmetic.

The geometry (``ConvSpec``, ``Geometry``) imports no drawing library; the
renderer and writers are imported only when a figure is made, and
:func:`animate` (notebooks) only when it is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convgif.geometry import CellKind, Geometry, Step
from convgif.spec import ConvSpec, SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from convgif.notebook import animate

__all__ = ["CellKind", "ConvSpec", "Geometry", "SpecError", "Step", "animate"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy: importing convgif stays free of the drawing libraries.
    if name == "animate":
        from convgif.notebook import animate

        return animate
    raise AttributeError(f"module 'convgif' has no attribute {name!r}")
