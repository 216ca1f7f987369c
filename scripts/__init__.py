"""Commands behind the Makefile, run with the venv's Python from the checkout root."""
