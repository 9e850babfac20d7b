"""The server side of the audit log: append events, chain them, sign checkpoints, export.

The format and the verifier live in crypto/audit.py (the auditor runs them
offline); this package only writes what they read.
"""
