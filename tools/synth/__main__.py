import sys

from .chip import main

sys.exit(main())
