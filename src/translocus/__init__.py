"""translocus: mouse-model data to answers about human disease, fast.

Layers (imports point down): ``cli`` / ``report`` → ``pipelines`` → engines
(``genetics``, ``progression``, ``treatment``, ``translate``) → ``core``.
"""

__version__ = "0.1.0"
