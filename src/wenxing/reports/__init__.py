"""Reports: evidence in, material identified, leaker traced."""
