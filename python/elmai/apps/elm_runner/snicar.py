"""SNICAR's two lookup tables (fsnowoptics, fsnowaging), laid out as ELM reads them.

ELM opens both at initialisation in every configuration (biogeophys/SnowSnicarMod.F90):

* SnowOptics_init reads, with the array sizes it declares (Fortran order; the file's
  dimensions are the reverse):
  - ice grains `ss_alb_ice_drc|dfs`, `asm_prm_ice_drc|dfs`, `ext_cff_mss_ice_drc|dfs`
    (idx_Mie_snw_mx = 1471 effective radii 30..1500 um, numrad_snw = 5 bands);
  - `flx_wgt_dir` (6 atmospheres, 90 solar zenith angles, 5 bands) and `flx_wgt_dif`
    (6, 5), needed when snicar_atm_type is not 'default';
  - aerosols: `*_ocphil`, `*_ocphob`, `*_dust01..04` (5 bands); black carbon as the
    modal tables `*_bc_mam` (5 bands, idx_bc_nclrds_max = 10 particle sizes) and
    `bcint_enh_mam` (5, 10, idx_bcint_icerds_max = 8 grain sizes) when MODAL_AER is
    defined (config_component.xml sets it for every `_ELM%...BC` compset, ours
    included), else the bulk `*_bcphil`, `*_bcphob` (5 bands). Both are written.
* SnowAge_init reads `tau`, `kappa`, `drdsdt0` (idx_rhos_max = 8 densities,
  idx_Tgrd_max = 31 temperature gradients, idx_T_max = 11 temperatures).

The real tables (snicar_optics_5bnd_mam_c160322.nc, snicar_drdt_bst_fit_60_c070416.nc)
are Mie and snow-microphysics computations that cannot be downloaded here. elmai writes
tables from simple physics instead, and inputs.json lists them as placeholders:

* ice grains in the geometric-optics limit: mass extinction 3 Q_ext / (4 rho_ice r)
  with Q_ext = 2, co-albedo growing linearly with radius per band (anchored at
  100 um), asymmetry parameters typical of ice spheres;
* aerosols: representative single-scattering values (soot dark, dust bright); the case's
  aerosol deposition is zero, so they never enter the radiative transfer;
* aging: the fitted form dr/dt = drdsdt0 (tau / (dr_fresh + tau))^(1/kappa) with rates
  that grow with temperature and temperature gradient and fall with density.

Snow albedo therefore follows grain size as in ELM, but not to SNICAR's accuracy: the
testbed has no snow model to match either way.
"""

from __future__ import annotations

import os

import numpy as np

from elmai.io.netcdf_writer import write_netcdf

READ_OPTICS = "components/elm/src/biogeophys/SnowSnicarMod.F90:SnowOptics_init"
READ_AGING = "components/elm/src/biogeophys/SnowSnicarMod.F90:SnowAge_init"
OPTICS_FILE = "snicar_optics_5bnd_elmai.nc"
AGING_FILE = "snicar_drdt_bst_fit_elmai.nc"

NUMRAD_SNW = 5
RADII_UM = np.arange(30, 1501, dtype=np.float64)  # idx_Mie_snw_mx = 1471; index 71 is 100 um
N_ATM, N_SZA = 6, 90
N_BC_SIZES, N_BC_ICE_RADII = 10, 8  # idx_bc_nclrds_max, idx_bcint_icerds_max
_SOURCE = "elmai placeholders, see elmai/apps/elm_runner/snicar.py"
RHO_ICE = 917.0  # kg/m3, elm_varcon denice

# band edges (um): 0.3-0.7, 0.7-1.0, 1.0-1.2, 1.2-1.5, 1.5-5.0 (SNICAR's 5-band scheme)
_COALBEDO_100UM = np.array([2.0e-6, 6.0e-5, 8.0e-4, 4.0e-3, 8.0e-2])  # 1 - single-scatter albedo at 100 um
_ASYMMETRY = np.array([0.889, 0.891, 0.894, 0.899, 0.930])
# fraction of the broadband direct / diffuse flux in each band (clear sky, visible one band)
_FLUX_DIR = np.array([0.50, 0.26, 0.10, 0.08, 0.06])
_FLUX_DIF = np.array([0.59, 0.22, 0.08, 0.06, 0.05])

_AEROSOLS = {  # name: (single-scatter albedo, asymmetry, mass extinction m2/kg) in band 1;
    # longer bands scale ext by wavelength and lower the albedo of absorbers
    "bcphil": (0.25, 0.35, 1.2e4),
    "bcphob": (0.22, 0.33, 8.0e3),
    "ocphil": (0.95, 0.65, 5.0e3),
    "ocphob": (0.93, 0.62, 4.0e3),
    "dust01": (0.97, 0.70, 2.5e3),
    "dust02": (0.98, 0.72, 9.0e2),
    "dust03": (0.98, 0.75, 4.0e2),
    "dust04": (0.98, 0.80, 1.8e2),
}
_BAND_CENTRE_UM = np.array([0.5, 0.85, 1.1, 1.35, 3.25])


def ice_optics() -> dict[str, np.ndarray]:
    """Ice-grain tables (band, radius): single-scatter albedo, asymmetry, mass extinction."""
    r_m = RADII_UM * 1e-6
    coalbedo = np.minimum(0.47, _COALBEDO_100UM[:, None] * RADII_UM[None, :] / 100.0)
    ext = np.broadcast_to(3.0 * 2.0 / (4.0 * RHO_ICE * r_m), (NUMRAD_SNW, RADII_UM.size))
    asym = np.broadcast_to(_ASYMMETRY[:, None], (NUMRAD_SNW, RADII_UM.size))
    return {"ss_alb": 1.0 - coalbedo, "asm_prm": np.array(asym), "ext_cff_mss": np.array(ext)}


def aerosol_optics(name: str) -> dict[str, np.ndarray]:
    w0, g0, k0 = _AEROSOLS[name]
    scale = _BAND_CENTRE_UM[0] / _BAND_CENTRE_UM
    absorbing = w0 < 0.5
    ss_alb = w0 * scale**0.5 if absorbing else np.minimum(0.999, w0 + 0.005 * (1 - scale))
    return {
        "ss_alb": np.asarray(ss_alb, np.float64),
        "asm_prm": np.asarray(g0 * scale**0.2, np.float64),
        "ext_cff_mss": np.asarray(k0 * scale, np.float64),
    }


def write_optics(path: str | os.PathLike[str]) -> None:
    """fsnowoptics with every variable SnowOptics_init reads (non-modal aerosols)."""
    ice = ice_optics()
    v: dict[str, tuple] = {}
    meaning = {
        "ss_alb": ("-", "single-scatter albedo"),
        "asm_prm": ("-", "asymmetry parameter"),
        "ext_cff_mss": ("m2 kg-1", "mass extinction cross-section"),
    }
    for kind in ("drc", "dfs"):  # direct beam, diffuse: the same grains
        for prop, (units, long_name) in meaning.items():
            v[f"{prop}_ice_{kind}"] = (("bnd", "rds"), ice[prop], {"units": units, "long_name": long_name})
    v["rds"] = (("rds",), RADII_UM, {"units": "um", "long_name": "ice grain effective radius"})
    flx_dir = np.broadcast_to(_FLUX_DIR[:, None, None], (NUMRAD_SNW, N_SZA, N_ATM))
    v["flx_wgt_dir"] = (("bnd", "sza", "atm"), np.array(flx_dir), {"units": "-"})
    v["flx_wgt_dif"] = (("bnd", "atm"), np.array(np.broadcast_to(_FLUX_DIF[:, None], (NUMRAD_SNW, N_ATM))),
                        {"units": "-"})  # fmt: skip
    for name in _AEROSOLS:
        for prop, values in aerosol_optics(name).items():
            v[f"{prop}_{name}"] = (("bnd",), values, {"units": "m2 kg-1" if prop == "ext_cff_mss" else "-"})
    # modal black carbon: the bulk hydrophilic values, extinction falling with particle size
    size = np.linspace(1.0, 0.5, N_BC_SIZES)[:, None]
    for prop, values in aerosol_optics("bcphil").items():
        table = values[None, :] * (size if prop == "ext_cff_mss" else 1.0)
        v[f"{prop}_bc_mam"] = (("ncl_rds", "bnd"), np.broadcast_to(table, (N_BC_SIZES, NUMRAD_SNW)).copy(),
                               {"units": "m2 kg-1" if prop == "ext_cff_mss" else "-"})  # fmt: skip
    # absorption enhancement of BC inside ice grains: about 1.5 in the visible, none beyond
    enh = np.array([1.5, 1.2, 1.0, 1.0, 1.0])
    enh_table = np.broadcast_to(enh, (N_BC_ICE_RADII, N_BC_SIZES, NUMRAD_SNW)).copy()
    v["bcint_enh_mam"] = (("ice_rds", "ncl_rds", "bnd"), enh_table, {"units": "-"})
    write_netcdf(path, v, {"title": f"SNICAR optics tables in ELM's layout ({_SOURCE})"})


def aging_tables() -> dict[str, np.ndarray]:
    """tau, kappa, drdsdt0 on (T, dTdz, rho): T 223..273 K, dTdz 0..300 K/m, rho 50..400 kg/m3.
    SnowAge_init prints index (rho 3, dTdz 11, T 9) = (150 kg/m3, 100 K/m, 263 K)."""
    t = 223.0 + 5.0 * np.arange(11)
    grad = 10.0 * np.arange(31)
    rho = 50.0 * np.arange(1, 9)
    T, G, R = np.meshgrid(t, grad, rho, indexing="ij")
    warm = np.exp((T - 273.15) / 10.0)
    drdsdt0 = 0.1 * warm * (1.0 + G / 100.0) * (100.0 / R) ** 0.5  # um/hr
    tau = 5.0 + 10.0 * warm * (R / 100.0) ** 0.5  # um
    kappa = 1.0 + 2.0 * warm / (1.0 + G / 100.0)
    return {"tau": tau, "kappa": kappa, "drdsdt0": drdsdt0}


def write_aging(path: str | os.PathLike[str]) -> None:
    """fsnowaging with tau, kappa, drdsdt0 (dims T=11, dTdz=31, rho=8: Fortran (8, 31, 11))."""
    tables = aging_tables()
    units = {"tau": "um", "kappa": "-", "drdsdt0": "um hr-1"}
    v = {name: (("T", "dTdz", "rhos"), a, {"units": units[name]}) for name, a in tables.items()}
    write_netcdf(path, v, {"title": f"SNICAR snow aging fit in ELM's layout ({_SOURCE})"})
