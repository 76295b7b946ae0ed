"""Delivery: the one path by which material text leaves the server, marked and logged."""
