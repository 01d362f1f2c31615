"""Partner agencies: information requests, their answers, what they have shared before, and disputes."""
