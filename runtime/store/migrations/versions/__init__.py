"""One module per migration: `NNNN_<what>.py`, revision `NNNN`."""
