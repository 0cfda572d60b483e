"""``python -m steppe``: the ``steppe`` command, for environments without its script."""

from steppe.cli import main

if __name__ == "__main__":
    main()
