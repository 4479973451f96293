"""The script SDK: the `nango` object scripts receive (`nango.py`), its data types, record batches,
and the base of the generated models. Generated `models.py` files re-export the public names
(`types.PUBLIC_TYPES`) from `runtime.sdk.nango`."""
