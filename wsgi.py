"""gunicorn entry point: ``gunicorn --config tipbox/gunicorn_conf.py wsgi:app``."""

from tipbox import create_app

app = create_app()
