"""Materials: reading source files, cleaning, structure, keywords, import and versions."""
