"""The engine side: the Docker client, images, base bootstrap, sessions, preflight, locks, tests."""
