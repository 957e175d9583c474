"""`bazhong-accounts validate` and `fmt`: files, structure, pandera, exact accounting identities,
errata and provenance, each reading the `model.Table`s once."""
