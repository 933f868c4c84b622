"""The S3 HTTP layer."""
