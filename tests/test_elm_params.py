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


def test_defaults_hold_every_value_elmai_reads_as_the_real_file() -> None:
    """One source of ELM truth: the built-in values of everything read beyond the PFT and
    CTC lists (np_s*_new, lwtop_ann, r_mort) are the real file's, and so are the AD factors
    and the initial soil C:P computed from them (DecompCascadeCNMod readDecompCNParams)."""
    real = read_params(shared_data("elm", "clm_params_c211124vpft.nc"))
    ours = default_params()
    assert ours.ctc == real.ctc
    np.testing.assert_array_equal(ours.ad_factors, real.ad_factors)
    np.testing.assert_allclose(real.ad_factors[[3, 6, 7]], [1.36918, 1.95558, 27.39589], rtol=1e-5)
    np.testing.assert_array_equal(real.ad_factors[[0, 1, 2, 4, 5]], 1.0)
    np.testing.assert_array_equal(real.soil_cp_initial, [360.0, 360.0, 500.0, 500.0])
    spruce = read_params(shared_data("elm", "clm_params_SPRUCE_20221118_zengroot.nc"))
    assert abs(spruce.ctc["lwtop_ann"] - 0.3517) < 1e-6  # OLMT SPRUCE calibration, not the default 0.7
    assert spruce.ad_factors[2] > 1  # its slower lignin litter is accelerated too


def test_a_parameter_file_with_fewer_pfts_reads_and_pads(tmp_path) -> None:
    import netCDF4

    src = shared_data("elm", "clm_params_c211124vpft.nc")
    out = tmp_path / "clm_params_arctic12.nc"
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(out, "w", format="NETCDF3_CLASSIC") as b:
        for name, dim in a.dimensions.items():
            b.createDimension(name, 12 if name == "pft" else len(dim))
        for name, var in a.variables.items():
            v = b.createVariable(name, var.dtype, var.dimensions)
            data = var[:]
            if "pft" in var.dimensions:
                data = data[tuple(slice(0, 12) if d == "pft" else slice(None) for d in var.dimensions)]
            v[:] = data
    p = read_params(out)
    assert p.npft == 12 and p.pft["leafcn"].size == 17
    np.testing.assert_array_equal(p.pft["leafcn"][12:], 0.0)
    np.testing.assert_array_equal(p.pft["leafcn"][:12], default_params().pft["leafcn"][:12])


def test_the_testbed_the_features_and_refine_share_elms_cascade() -> None:
    """One definition of the CTC cascade (elm_names) drives the testbed's transitions and
    decay rates, the features' respired fractions and the refine operator: their structure
    is checked here against it, and the refine operator's flows against the parameters."""
    from elmai.apps.testbed import dynamics
    from elmai.data import features as F
    from elmai.io import elm_names as N
    from elmai.spinup import newton

    p = default_params()
    pools = N.CTC_POOLS
    as_names = {(pools[d], None if r < 0 else pools[r], rf) for d, r, rf in dynamics.TRANSITIONS}
    assert as_names == set(N.CTC_CASCADE)
    assert dynamics.DECAY_RATE == tuple(N.CTC_DECAY_RATE[x] for x in pools)
    assert newton.RECEIVER == {d: r for d, r, _ in N.CTC_CASCADE}
    rf = F.respired_fractions(p)
    for donor, _, name in N.CTC_CASCADE:
        assert rf[pools.index(donor)] == (1.0 if name is None else p.ctc[name])
    assert rf[pools.index("cwd")] == 0.0  # CWD fragments without respiration
    # the refine operator, one column, unit rates on one level: flows exactly where ELM's go
    nlev = 10
    rate = np.zeros((1, nlev, 8))
    rate[0, 0, :] = 1.0
    a = newton.cascade_operator(rate, p, np.full((1, nlev), 1.0 / DZSOI_DECOMP.sum()))
    at = {x: k * nlev for k, x in enumerate(pools)}  # level 0 of each pool
    for donor, receiver, name in N.CTC_CASCADE:
        if receiver is not None:
            assert a[0, at[receiver], at[donor]] == 1.0 - p.ctc[name]
    for receiver, share in N.CWD_FRAGMENTATION:
        assert a[0, at[receiver], at["cwd"]] == p.ctc[share]
    np.testing.assert_array_equal(np.diag(a[0])[[at[x] for x in pools]] <= -1.0, True)
