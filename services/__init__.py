"""Use cases: one async function per command, each in its own unit of work."""
