"""Spin-up of worlds the model never saw: testbed worlds that differ (worlds), the transfer
protocol (protocol), its per-cell and CTSM metrics (metrics), and the shipped model's
deterministic build (pretrained_build)."""
