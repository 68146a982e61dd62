"""`make demo`: see local_cluster.demo (docs/local-cluster.md) for flags and variables."""

import sys

from local_cluster.demo import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
