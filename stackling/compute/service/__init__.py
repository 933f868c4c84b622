"""The compute service layer: every decision about servers, flavors, quotas and hosts."""
