"""Who may do and see what: the permissions table, need-to-know on cases, break-glass."""
