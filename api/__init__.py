"""HTTP and WebSocket interface: Starlette app, Strawberry schema, CLI."""
