"""Which services run in this process, and their lifecycle."""
