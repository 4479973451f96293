"""Running one script: the loader, `run_script`, time limits and error mapping."""
