"""``python -m dxkpi``: the same command line as the ``dxkpi`` script."""

from dxkpi.commands.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
