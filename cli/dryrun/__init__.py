"""`nango dryrun`: run one script locally, against the live API or recorded fixtures."""
