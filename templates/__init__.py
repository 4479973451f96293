"""Files the CLI renders: the `nango init` example project and script stubs."""
