"""Database access: engines, the write path, base model, migrations."""
