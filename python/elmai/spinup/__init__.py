"""The AI spin-up: predict the slow pools of an early restart and write an equilibrium one."""

from elmai.spinup.run import SpinupCheckError, SpinupResult, ai_spinup

__all__ = ["SpinupCheckError", "SpinupResult", "ai_spinup"]
