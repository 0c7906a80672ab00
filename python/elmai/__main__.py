import sys

from elmai.cli import main

sys.exit(main())
