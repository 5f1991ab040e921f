"""Array type aliases shared by the core."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
"""Audio samples ``[channels, frames]`` or other float32 data."""
IntArray = NDArray[np.int64]
"""One codebook's codes."""
AnyArray = NDArray[Any]
