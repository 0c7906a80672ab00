"""Uncertainty quantification: PI3NN prediction intervals, emulators, DBUQ, MCMC, Sobol indices."""

from elmai.apps.uq.pi3nn import PI3NN, picp_mpiw

__all__ = ["PI3NN", "picp_mpiw"]
