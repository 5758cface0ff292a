"""Bridges to other frameworks: our collections and loaders where their code expects its own."""
