"""nango.yaml: loading, validation and the parsed configuration."""
