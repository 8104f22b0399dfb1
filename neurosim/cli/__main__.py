"""``python -m neurosim.cli``: the ``neurosim`` command."""
import sys

from . import main

sys.exit(main())
