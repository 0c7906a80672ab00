"""Applications built on the elmai core."""
