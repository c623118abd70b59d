"""convgif: animated figures of convolution arithmetic.

The geometry (``ConvSpec``, ``Geometry``) imports no drawing library; the
renderer and writers are imported only when a figure is made.
"""

from convgif.geometry import CellKind, Geometry, Step
from convgif.spec import ConvSpec, SpecError

__all__ = ["CellKind", "ConvSpec", "Geometry", "SpecError", "Step"]
__version__ = "0.1.0"
