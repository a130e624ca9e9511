import sys

from kec_tui.cli import main

sys.exit(main())
