"""tipbox: the intake server. Stores ciphertext only; see ../README.md."""

from .app import create_app

__all__ = ["create_app"]
