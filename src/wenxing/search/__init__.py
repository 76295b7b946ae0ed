"""Search: find the section you need among the library's materials."""
