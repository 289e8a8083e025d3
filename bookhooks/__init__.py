"""Build tooling for the course book: how examples are verified, and the MkDocs hooks.

Not part of the installed ``coursekit`` package; used by ``conftest.py``, ``mkdocs.yml`` and the
Makefile from the repository root.
"""
