"""A project with Django's admin, auth and a database, for the fleet page's admin and browser tests.

Run in subprocesses (the suite's own settings have no database): ``DJANGO_SETTINGS_MODULE=
tests.support.fleet_site.settings``, with the environment giving REDIS_URL, FLEET_SITE_DB (a SQLite file),
and optionally MAX_CONNECTIONS, POOL_TIMEOUT and FLEET_INTERVAL (publishing is off without it).
"""
