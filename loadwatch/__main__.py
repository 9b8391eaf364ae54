"""`python -m loadwatch` is the `loadwatch` command."""

import sys

from loadwatch.cli import main

sys.exit(main())
