"""translocus: mouse-model data to answers about human disease, fast.

Layers (imports point down): ``cli`` / ``report`` → ``pipelines`` → engines
(``genetics``, ``progression``, ``treatment``, ``translate``) → ``core``.
"""

import logging as _logging

__version__ = "0.1.0"

# A library logs (licence decisions, rows dropped, convergence) and leaves the handlers to
# the application: without one, nothing is printed.
_logging.getLogger("translocus").addHandler(_logging.NullHandler())
