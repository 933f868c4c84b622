"""Object storage: Swift v1 and S3 over one durable store."""
