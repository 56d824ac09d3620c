import sys

from anonymiser.cli import main

sys.exit(main())
