"""Time-series models of fluxes and streamflow: LSTM and transformer regressors trained
from one YAML per experiment, scored by NSE/KGE against climatology and persistence."""
