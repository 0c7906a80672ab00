"""Models of elmai: the multimodal AI spin-up transformer and its physics constraints."""
