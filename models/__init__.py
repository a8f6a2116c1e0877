"""Model providers behind small interfaces, the catalog of known models, and assembling their weights."""
