"""Data shipped with the rules: the aircraft catalogue and the ISO 3166 country codes."""
