"""boo: MIOpen convolutions compiled by IREE, served by a daemon.

Data flows one way: command line (`grammar`) -> `ConvSignature` (`conv`) -> MLIR (`generate`,
`lowering`) -> vmfb (`compile`, `cache`) -> loaded module (`runtime`) -> call.
"""

from .conv import ConvSignature, Mode
from .errors import BooError, SignatureError, UnsupportedError

__version__ = "0.1.0"
__all__ = ["ConvSignature", "Mode", "BooError", "SignatureError", "UnsupportedError", "__version__"]
