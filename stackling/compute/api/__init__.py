"""Nova v2.1 HTTP layer: routes translate, the service decides."""
