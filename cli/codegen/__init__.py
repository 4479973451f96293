"""Generated files: models.py, .nango/schema.json, .nango/nango.json and script stubs."""
