"""`python -m wit_pipeline` runs the command line."""

import sys

from wit_pipeline.cli import main

sys.exit(main())
