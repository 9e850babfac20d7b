"""Operator surface: the ``tipbox`` command line (never reachable over HTTP)."""
