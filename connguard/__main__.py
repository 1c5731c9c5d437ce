"""`python -m connguard` runs the same CLI as the `connguard` console script."""

from connguard.cli import main

if __name__ == "__main__":
    main()
