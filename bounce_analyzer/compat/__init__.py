"""Drop-in replacements for other bounce libraries' entry points, answered by this package's analysis."""
