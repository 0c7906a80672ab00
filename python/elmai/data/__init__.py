"""The AI spin-up data set: one record per gridcell, built from ELM-format files."""

from elmai.data.dataset import SpinupData, build_dataset, load, save

__all__ = ["SpinupData", "build_dataset", "load", "save"]
