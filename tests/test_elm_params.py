"""The built-in parameters equal the real ELM parameter file; soil layers are ELM's."""

from __future__ import annotations

import numpy as np

from elmai.io.elm_params import CTC_PARAMETERS, PFT_PARAMETERS, default_params, read_params
from elmai.io.soil_levels import DZSOI_DECOMP, interface_depths, layer_thickness, node_depths
from tests.conftest import shared_data


def test_defaults_equal_the_real_parameter_file() -> None:
    real = read_params(shared_data("elm", "clm_params_c211124vpft.nc"))
    ours = default_params()
    for name in PFT_PARAMETERS:
        np.testing.assert_array_equal(ours.pft[name], real.pft[name], err_msg=name)
    for name in CTC_PARAMETERS:
        assert ours.ctc[name] == real.ctc[name], name
    np.testing.assert_array_equal(ours.soil_cn, [12.0, 12.0, 10.0, 10.0])
    assert ours["leafcn"][1] == 35.0 and ours["k_s4"] > 0


def test_soil_levels_are_elms() -> None:
    z, dz, zi = node_depths(), layer_thickness(), interface_depths()
    assert z[0] == np.float64(0.025 * (np.exp(0.25) - 1.0))
    np.testing.assert_allclose(np.diff(zi), dz)  # thicknesses are the interface spacing
    assert zi[-1] > 42.0 and len(z) == 15
    np.testing.assert_array_equal(DZSOI_DECOMP, dz[:10])
