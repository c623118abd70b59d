"""``python -m convgif``: the same as the ``convgif`` command."""

from convgif.cli import main

if __name__ == "__main__":
    main()
