"""Retrieval and answer quality (see README.md); nothing imports this package."""
