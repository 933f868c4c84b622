"""Volume: the Cinder v3 API, volume types, quotas and the agent that keeps volumes on disk."""
