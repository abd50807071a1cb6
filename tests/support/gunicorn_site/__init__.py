"""A small Django project served by gunicorn in tests/test_fleet_e2e.py: views that use a pool, one
that makes its worker queue and exhaust it, one that uses no Redis, and one listing its threads."""
