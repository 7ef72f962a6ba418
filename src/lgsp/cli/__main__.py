"""``python -m lgsp.cli``: the same as the ``lgsp`` console script."""

from lgsp.cli import main

if __name__ == "__main__":
    main()
