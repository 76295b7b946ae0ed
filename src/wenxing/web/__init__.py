"""The web application (members' site and publisher's console grow here)."""
