"""The runtime's HTTP API: the public API Nango's clients use, the deploy and OAuth endpoints.

`app.py` builds the FastAPI app over a `Store`; `auth.py` resolves the environment from the
Bearer key; `errors.py` gives every error Nango's body; `routes/` holds one router per resource.
"""
