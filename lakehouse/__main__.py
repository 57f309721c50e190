"""``python -m lakehouse``: the same command line as the ``lakehouse`` console script."""

from lakehouse.cli.main import main

if __name__ == "__main__":
    main()
