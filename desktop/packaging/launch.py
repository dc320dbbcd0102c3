"""The packaged app's entry script: PyInstaller runs it as ``__main__``, so it only hands over."""

import sys

from desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
