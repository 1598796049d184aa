"""`python -m hero_tracing run FILE | zygote [MODULES] | inspect FILE | lint FILE`.

Python runs this file as `__main__`, apart from the package, which it has
already imported as `hero_tracing`: the run lives in the package's modules,
the ones a flow's `from hero_tracing import flow` sees, and this file holds
no state of its own.
"""

import sys

from hero_tracing import _cli

if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
