"""Adapters: the concrete implementations of the ports in `services/ports.py` that talk to
the outside world (HTTP clients). The app and the CLI wire them into the use cases."""
