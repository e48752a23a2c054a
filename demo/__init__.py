"""Demo data and the one-command bootstrap; the only app allowed to import every other app."""
