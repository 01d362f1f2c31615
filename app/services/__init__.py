"""Use cases. Each public function is one transaction; history is written inside it."""
