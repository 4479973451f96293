"""The runtime server (the public API Nango's clients use). Empty until the runtime lands."""
