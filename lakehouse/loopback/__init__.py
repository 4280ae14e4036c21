"""The loopback platform: the platform runtime's services (PostgreSQL roles, Keycloak, an Iceberg
REST catalog, S3, Trino, Spark Connect) as plain processes on 127.0.0.1, for development and CI.

Only the CLI imports this package; the code reaches the services through settings alone
(``environment.py`` gives them). See docs/platform-loopback.md.
"""
