"""Explanations: integrated gradients (Captum) and SHAP for the spin-up model and the
time-series models, by input group, variable and lag."""
