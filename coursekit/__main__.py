"""``python -m coursekit train ...`` runs the ``coursekit`` command.

Its options are in ``coursekit.training.cli``.
"""

import sys

from coursekit.training.cli import main

sys.exit(main())
