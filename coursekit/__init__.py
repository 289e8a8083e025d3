"""coursekit: the executable companion to a graduate deep-learning course.

The package mirrors the course book: each chapter under ``docs/`` teaches what one module here
implements (``docs/math/linear-algebra.md`` and ``coursekit.linalg``, for example).
"""

__version__ = "0.1.0"
