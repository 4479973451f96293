"""The terminal: Rich consoles, issue rendering and the reports of each command."""
