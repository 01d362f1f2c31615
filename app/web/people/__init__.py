"""Pages about you: sign in and out, your name."""
