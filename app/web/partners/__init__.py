"""Partner agencies' pages: their answers."""
