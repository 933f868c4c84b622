"""The object data stores."""
