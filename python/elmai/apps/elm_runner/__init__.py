"""Real ELM in the loop: the inputs of an ELM site case taken from a testbed world run, and
drivers that build and run ELM with them (docs/elm_in_the_loop.md).

The case is compset ICB1850CNPRDCTCBC (1850_SATM_ELM%CNPRDCTCBC_SICE_SOCN_MOSART_SGLC_SWAV)
with CPL_BYPASS and ELM_USRDAT, as OLMT runs it. Modules, one job each:

* world: read a testbed run folder (surface data, monthly forcing, parameters, restarts)
* sites: pick the gridcells (spread over climates, or nearest to given points)
* domain: the domain file (surfrdMod.F90 surfrd_get_grid)
* surfdata: the surface data (surfrdMod.F90 and the other fsurdat readers)
* bypass_forcing: the cpl_bypass meteorology (lnd_import_export.F90 lnd_import)
* streams: CO2, N/P deposition, aerosol deposition, population density, lightning
* params: the parameter file and the soil-order CNP parameter file
* namelists: user_nl_elm and the xmlchange script
* case_inputs: all of the above plus the manifest inputs.json
* e3sm: prerequisites, build and run drivers (CIME)
* snicar: SNICAR's optics and aging tables in ELM's layout
* loop: ELM's own spin-up against the AI route, both run by ELM
"""

# The E3SM source every name, dimension and unit here was checked against
E3SM_CHECKED = "E3SM 75e17cce25a2e91d28a6bfce021610d02b1426a9 (components/elm/src)"
COMPSET = "ICB1850CNPRDCTCBC"
COMPSET_LONG = "1850_SATM_ELM%CNPRDCTCBC_SICE_SOCN_MOSART_SGLC_SWAV"
