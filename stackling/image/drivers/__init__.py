"""Image stores behind one Protocol."""
