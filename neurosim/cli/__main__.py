"""``python -m neurosim.cli``: the ``neurosim`` command."""
import sys

from . import main

if __name__ == "__main__":  # importing the module (documentation tools do) runs nothing
    sys.exit(main())
