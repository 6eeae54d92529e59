"""The web entry point: `gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app` (see gunicorn.conf.py).

Importing this module creates the app and starts no thread."""

from autosig.web import create_app

app = create_app()
