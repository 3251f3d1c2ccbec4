import sys

from fracdet_core.cli import main

sys.exit(main())
