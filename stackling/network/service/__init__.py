"""The network service layer: decisions and desired state; no HTTP here."""
