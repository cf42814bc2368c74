"""Read models kept up to date from the log."""
