"""leaktrace: invisible per-recipient marks and leak attribution.

Importing the package stays light: no OpenCV, Typer, Rich or PDF library is loaded until a
function that needs it runs (``tests/test_imports.py`` enforces this).
"""

from leaktrace.errors import LeaktraceError

__version__ = "0.1.0"

__all__ = ["LeaktraceError", "__version__"]
