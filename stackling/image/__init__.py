"""Image: the Glance v2 API and the stores that hold image data."""
