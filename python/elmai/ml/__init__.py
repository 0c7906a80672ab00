"""Generic ML helpers several apps and the core's training use: tabular networks, random
features, and the MPI/torch.distributed start-up and teardown."""
