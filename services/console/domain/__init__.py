"""What the console decides without I/O: who may see which section, how times and personal data are
shown, and what the pages' numbers mean."""
