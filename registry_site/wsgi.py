"""WSGI entry point: gunicorn registry_site.wsgi:application.

Token-authenticated fetches (resolve, render) skip the middleware stack; every other
request takes it (registry_site/fast_path.py)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
django.setup(set_prefix=False)

from registry_site.fast_path import FastPathWSGIHandler  # noqa: E402 - needs settings

application = FastPathWSGIHandler()
