"""Where backups keep their data: a target (filesystem now, object store later) and the chunking."""
