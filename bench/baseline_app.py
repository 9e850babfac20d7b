"""The yardstick for bench/load.py: a bare Flask + SQLAlchemy endpoint that inserts one row per request.

    BASELINE_DATABASE_URL=postgresql+psycopg://... gunicorn --chdir bench baseline_app:app

No CSRF, no rate limits, no parsing, no headers: the cheapest possible way to
get an uploaded blob into a table through the same stack (gunicorn, Flask,
SQLAlchemy, psycopg, PostgreSQL). tipbox's figures are printed as a ratio to it.
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, jsonify, request
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, create_engine, insert

metadata = MetaData()
blobs = Table("bench_baseline_blobs", metadata, Column("id", String(32), primary_key=True),
              Column("data", LargeBinary, nullable=False))



def create_schema(url: str) -> None:
    """Run once by bench/load.py before the workers start (they would race to create it)."""
    setup = create_engine(url)
    metadata.drop_all(setup)
    metadata.create_all(setup)
    setup.dispose()


engine = create_engine(os.environ.get("BASELINE_DATABASE_URL", "sqlite://"), pool_pre_ping=True)
app = Flask(__name__)


@app.post("/insert")
def insert_blob():
    row_id = secrets.token_hex(16)
    with engine.begin() as conn:
        conn.execute(insert(blobs).values(id=row_id, data=request.get_data()))
    return jsonify(id=row_id), 201
