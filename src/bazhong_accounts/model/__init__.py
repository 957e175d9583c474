"""The package as data: where it lives and its descriptor, a resource read as a `Table`, the
grammar of every cell type, and the problems found in them."""
