"""``python -m cofirec ...`` runs the command line."""

from cofirec.cli.main import main

if __name__ == "__main__":
    main()
