"""`make bench`: how fast the product serves, measured against a floor without Django."""
