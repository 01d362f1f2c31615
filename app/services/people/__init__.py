"""People: accounts and display names, browser sessions, sign-in throttling."""
