"""coursekit: the executable companion to a graduate deep-learning course.

The package mirrors the course book: one subpackage per part of the book, one module per idea,
and each chapter under ``docs/<part>/`` teaches what modules of ``coursekit/<part>/``
implement (``docs/maths/linear-algebra.md`` and ``coursekit.maths.linalg``, for example):

- ``coursekit.maths``: linear algebra, calculus, probability and information theory;
- ``coursekit.training``: devices, data, models, the training loop, checkpoints, the CLI;
- ``coursekit.applications``: what deep learning does today, and its open problems.

``coursekit.figures`` saves the figures the chapters draw.
"""

from importlib.metadata import version

__all__ = ["__version__"]

__version__ = version("coursekit")
