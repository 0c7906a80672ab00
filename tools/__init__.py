"""Developer tools of the repository (API reference, figures from result JSON); not installed."""
