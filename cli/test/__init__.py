"""`nango test`: replay recorded fixtures and compare what the scripts produce."""
