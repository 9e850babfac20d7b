"""``python -m review_cli``: the same as the ``tipbox-review`` console script."""

from review_cli.main import main

if __name__ == "__main__":
    main()
