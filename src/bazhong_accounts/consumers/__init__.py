"""What users of the package call: `load()` and friends, `export`, `diff`."""
