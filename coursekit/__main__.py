"""``python -m coursekit train ...`` runs the ``coursekit`` command (see ``coursekit.cli``)."""

import sys

from coursekit.cli import main

sys.exit(main())
