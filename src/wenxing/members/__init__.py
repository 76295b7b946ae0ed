"""Members: accounts, member numbers, plans and entitlements."""
