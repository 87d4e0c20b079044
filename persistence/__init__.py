"""Persistence: SQLModel tables, repositories, unit of work, migrations."""
