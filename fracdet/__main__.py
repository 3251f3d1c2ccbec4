import sys

from fracdet import main

sys.exit(main())
