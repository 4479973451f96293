"""`nango init`: scaffold the example project."""
