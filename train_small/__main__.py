"""`python -m train_small train|eval|export ...`."""

import sys

from .cli import main

sys.exit(main())
