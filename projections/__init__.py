"""Read models kept up to date from the log (issue 5 builds them)."""
