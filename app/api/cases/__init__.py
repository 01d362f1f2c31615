"""Cases over the API: contacts, instances, tasks and starting processes."""
