"""One module per command; each turns flags into one core call and renders the result."""
