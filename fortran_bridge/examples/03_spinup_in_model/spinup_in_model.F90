!> Example 03: the AI spin-up done in-model, ELM-style, through module elmai.
!>
!> What ELM would do at the end of its ~20-year run, with its own arrays:
!>   1. find the natural-vegetation columns (landunit type 1, istsoil: one per topounit,
!>      possibly several per gridcell; gridcells with none are skipped) through the
!>      subgrid maps (cols1d_ityplun, pfts1d_column_index, pfts1d_itypveg, 1-based),
!>   2. gather each such column's PFT pools (pft-level leafc, ..., deadcrootc) into its
!>      17 natural PFT slots and its layered soil pools (litr*c_vr, cwdc_vr, soil*c_vr on
!>      (levgrnd, column)) into the model's layout,
!>   3. run the exported spin-up model once through libtorch (zero-copy tensors, status
!>      codes),
!>   4. scatter back only the pools `elmai spinup` writes (the slow ones: deadstem,
!>      deadcroot, cwd, soil3, soil4; flagged in the inputs file) and only on PFTs of
!>      non-zero weight (zero-weight slots keep ELM's seed pools), with N and P as the
!>      merge keeps them (python/elmai/spinup/merge.py):
!>        plant tissue     N = C / C:N of the PFT, P = C / C:P of the PFT
!>        soil1..4         N = C / soil C:N (fixed)
!>        soil1..4 P, litter and CWD N and P
!>                         X = C x the early restart's X:C at that (column, level), or the
!>                         column's pool-wide early X:C (sum X dz / sum C dz) where the
!>                         level held no C, or for P where the column holds none of the
!>                         pool 1 / initial soil C:P (cn_s x np_s_new)
!>        tlai             leaf C x slatop, if leaf C is written
!> Climate inputs (monthly forcing climatology, static fields, climatological decay rates),
!> the merge ratios and the written-pool flags come from the file
!> `elmai spinup --save-inputs` writes (ELM would accumulate them in memory).
!>
!> The program then compares every pool's C, N and P (written or not: the others must be
!> the early restart's, on every column and pft of any landunit) and tlai with the restart
!> the CLI wrote, and fails if any differs by more than 1e-6 (relative).
!>
!> The model runs on NTHREADS intra-op threads (default 1, as an ELM MPI rank would): give
!> the CLI the same (`elmai spinup --threads 1`), since a float32 network's last bits can
!> depend on how libtorch splits its sums between threads.
!>
!> Usage: spinup_in_model MODEL.pt EARLY.nc INPUTS.nc AI_FROM_CLI.nc [NTHREADS]
program spinup_in_model
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use, intrinsic :: ieee_arithmetic, only: ieee_is_nan
  use elmai
  implicit none
  integer, parameter :: npool = 6, nsoil = 8, istsoil = 1
  character(len=10), parameter :: pft_pools(npool) = [character(len=10) :: 'leaf', 'froot', 'livestem', &
                                                      'deadstem', 'livecroot', 'deadcroot']
  character(len=5), parameter :: soil_pools(nsoil) = [character(len=5) :: 'litr1', 'litr2', 'litr3', 'cwd', &
                                                      'soil1', 'soil2', 'soil3', 'soil4']
  character(len=1), parameter :: elements(3) = ['c', 'n', 'p']
  character(len=1024) :: model_path, early_path, inputs_path, cli_path, arg
  type(elmai_restart) :: early, inp, cli
  type(elmai_model) :: model
  type(elmai_tensor) :: tin(6), tout(2)
  ! inputs file
  real(real64), allocatable :: forcing64(:, :, :), static64(:, :), weight64(:, :), rate64(:, :, :)
  real(real64), allocatable :: pft_cn(:, :), pft_cp(:, :), soil_cn(:), soil_cp(:), slatop(:), dz(:)
  real(real64), allocatable :: fallback(:, :, :)   ! (soil pool, N|P, cell): X:C where a column held none
  real(real64), allocatable :: written_pft(:), written_soil(:), cell_column(:), cli_pft(:, :, :), cli_soil(:, :, :)
  real(real32), allocatable, target :: forcing(:, :, :), static(:, :), weight(:, :), rate(:, :, :)
  real(real32), allocatable, target :: pft_early(:, :, :), soil_early(:, :, :), pft_out(:, :, :), soil_out(:, :, :)
  ! ELM's subgrid and pools
  real(real64), allocatable :: pft_type(:), pft_column(:), col_ltype(:)
  real(real64), allocatable :: pool(:), vr(:, :), vr_c(:, :), mine(:), theirs(:), mine2(:, :), theirs2(:, :)
  integer, allocatable :: veg_col(:), cell_of_col(:), slot(:, :)
  integer(int64) :: shp(8)
  real(real64) :: spin, worst, diff, col_c, col_x, ratio, new_c
  integer :: ierr, nd, ncell, npft, nlev, nforce, nmon, nstatic, npfts, ncol, nlevgrnd
  integer :: p, t, c, i, j, k, e, lev, nveg, nthreads

  call get_command_argument(1, model_path)
  call get_command_argument(2, early_path)
  call get_command_argument(3, inputs_path)
  call get_command_argument(4, cli_path)
  nthreads = 1
  if (command_argument_count() >= 5) then
    call get_command_argument(5, arg)
    read (arg, *, iostat=ierr) nthreads
    if (ierr /= 0 .or. nthreads < 1) call fail('NTHREADS must be a positive integer')
  end if
  call elmai_restart_open(early, early_path, ierr); call check('open early restart')
  call elmai_restart_open(inp, inputs_path, ierr); call check('open inputs')
  call elmai_restart_open(cli, cli_path, ierr); call check('open CLI restart')

  ! ---- climate inputs, ratios, written-pool flags (file C order reversed: Fortran
  !      (var, month, cell)); every size from the files -----------------------------------
  call elmai_restart_var_shape(inp, 'forcing', nd, shp, ierr); call check('shape forcing')
  nforce = int(shp(1)); nmon = int(shp(2)); ncell = int(shp(3))
  call elmai_restart_var_shape(inp, 'static', nd, shp, ierr); call check('shape static')
  nstatic = int(shp(1))
  call elmai_restart_var_shape(inp, 'pft_weight', nd, shp, ierr); call check('shape pft_weight')
  npft = int(shp(1))
  call elmai_restart_var_shape(inp, 'dz', nd, shp, ierr); call check('shape dz')
  nlev = int(shp(1))
  call elmai_restart_var_shape(inp, 'written_pft_pool', nd, shp, ierr); call check('shape written_pft_pool')
  if (int(shp(1)) /= npool) call fail('the inputs file has another list of PFT pools')
  call elmai_restart_var_shape(inp, 'written_soil_pool', nd, shp, ierr); call check('shape written_soil_pool')
  if (int(shp(1)) /= nsoil) call fail('the inputs file has another list of soil pools')
  allocate (forcing64(nforce, nmon, ncell), static64(nstatic, ncell), weight64(npft, ncell), &
            rate64(nsoil, nlev, ncell), pft_cn(npft, npool), pft_cp(npft, npool), soil_cn(nsoil), &
            soil_cp(nsoil), slatop(npft), dz(nlev), written_pft(npool), written_soil(nsoil), &
            cell_column(ncell), cli_pft(npool, npft, ncell), cli_soil(nsoil, nlev, ncell), &
            fallback(nsoil, 2, ncell))
  call elmai_restart_read(inp, 'forcing', forcing64, ierr); call check('read forcing')
  call elmai_restart_read(inp, 'static', static64, ierr); call check('read static')
  call elmai_restart_read(inp, 'pft_weight', weight64, ierr); call check('read pft_weight')
  call elmai_restart_read(inp, 'soil_rate', rate64, ierr); call check('read soil_rate')
  call elmai_restart_read(inp, 'pft_cn', pft_cn, ierr); call check('read pft_cn')
  call elmai_restart_read(inp, 'pft_cp', pft_cp, ierr); call check('read pft_cp')
  call elmai_restart_read(inp, 'soil_cn', soil_cn, ierr); call check('read soil_cn')
  call elmai_restart_read(inp, 'soil_cp', soil_cp, ierr); call check('read soil_cp')
  call elmai_restart_read(inp, 'slatop', slatop, ierr); call check('read slatop')
  call elmai_restart_read(inp, 'dz', dz, ierr); call check('read dz')
  call elmai_restart_read(inp, 'written_pft_pool', written_pft, ierr); call check('read written_pft_pool')
  call elmai_restart_read(inp, 'written_soil_pool', written_soil, ierr); call check('read written_soil_pool')
  call elmai_restart_read(inp, 'cell_column', cell_column, ierr); call check('read cell_column')
  call elmai_restart_read(inp, 'fallback_ratio', fallback, ierr); call check('read fallback_ratio')
  call elmai_restart_read(inp, 'pft_pools', cli_pft, ierr); call check('read pft_pools')
  call elmai_restart_read(inp, 'soil_pools', cli_soil, ierr); call check('read soil_pools')
  forcing = real(forcing64, real32)
  static = real(static64, real32)
  weight = real(weight64, real32)
  rate = real(rate64, real32)

  ! ---- ELM's subgrid: the natural-vegetation columns and each natural PFT's slot --------
  spin = 0.0_real64
  call elmai_restart_var_shape(early, 'spinup_state', nd, shp, ierr)
  if (ierr == ELMAI_OK) then
    call elmai_restart_read(early, 'spinup_state', spin, ierr); call check('read spinup_state')
  end if
  if (nint(spin) /= 0) then
    print '(a)', 'this example handles normal-mode restarts (spinup_state = 0); `elmai spinup` also does AD'
    stop 2
  end if
  call elmai_restart_var_shape(early, 'pfts1d_itypveg', nd, shp, ierr); call check('shape pfts1d_itypveg')
  npfts = int(shp(1))
  call elmai_restart_var_shape(early, 'cols1d_ityplun', nd, shp, ierr); call check('shape cols1d_ityplun')
  ncol = int(shp(1))
  call elmai_restart_var_shape(early, 'soil1c_vr', nd, shp, ierr); call check('shape soil1c_vr')
  nlevgrnd = int(shp(1))
  if (nd /= 2 .or. int(shp(2)) /= ncol .or. nlevgrnd < nlev) call fail('soil1c_vr is not (levgrnd, column)')
  allocate (pft_type(npfts), pft_column(npfts), col_ltype(ncol), cell_of_col(ncol), veg_col(ncell), &
            slot(npft, ncell), pool(npfts), vr(nlevgrnd, ncol), vr_c(nlevgrnd, ncol), &
            mine(npfts), theirs(npfts), mine2(nlevgrnd, ncol), theirs2(nlevgrnd, ncol))
  call elmai_restart_read(early, 'pfts1d_itypveg', pft_type, ierr); call check('read pfts1d_itypveg')
  call elmai_restart_read(early, 'pfts1d_column_index', pft_column, ierr); call check('read pfts1d_column_index')
  call elmai_restart_read(early, 'cols1d_ityplun', col_ltype, ierr); call check('read cols1d_ityplun')
  ! the cells are the istsoil columns in restart order; ELM knows them, the inputs file
  ! says which it used (cell_column): they must agree
  cell_of_col = 0
  nveg = 0
  do c = 1, ncol
    if (nint(col_ltype(c)) /= istsoil) cycle
    nveg = nveg + 1
    if (nveg <= ncell) veg_col(nveg) = c
    cell_of_col(c) = nveg
  end do
  if (nveg /= ncell) call fail('the restart''s natural-vegetation columns are not the cells of the inputs file')
  if (any(veg_col /= nint(cell_column))) call fail('cell_column is not the restart''s natural-vegetation columns')
  ! slot(type, cell): the restart pft of each natural PFT type on the cell's column (0: none)
  slot = 0
  do p = 1, npfts
    c = nint(pft_column(p))
    if (c < 1 .or. c > ncol) cycle
    i = cell_of_col(c)
    if (i == 0) cycle
    t = nint(pft_type(p)) + 1
    if (t < 1 .or. t > npft) call fail('a pft on a natural-vegetation column has a non-natural type')
    slot(t, i) = p
  end do

  ! ---- gather the early pools into the model's layout (pool, pft, cell) ----------------
  allocate (pft_early(npool, npft, ncell), soil_early(nsoil, nlev, ncell), pft_out(npool, npft, ncell), &
            soil_out(nsoil, nlev, ncell))
  pft_early = 0.0
  do j = 1, npool
    call elmai_restart_read(early, trim(pft_pools(j))//'c', pool, ierr); call check('read '//pft_pools(j))
    do i = 1, ncell
      do t = 1, npft
        if (slot(t, i) > 0) pft_early(j, t, i) = real(pool(slot(t, i)), real32)
      end do
    end do
  end do
  do k = 1, nsoil
    call elmai_restart_read(early, trim(soil_pools(k))//'c_vr', vr, ierr); call check('read '//soil_pools(k))
    do i = 1, ncell
      soil_early(k, :, i) = real(vr(1:nlev, veg_col(i)), real32)
    end do
  end do

  ! ---- one forward pass: Fortran (a, b, cell) is the model's [cell, b, a] -------------
  call elmai_model_load(model, model_path, ierr, device='cpu', nthreads=nthreads); call check('load model')
  call elmai_tensor_from_array(tin(1), forcing, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(2), static, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(3), weight, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(4), pft_early, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(5), soil_early, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(6), rate, ierr); call check('tensor')
  call elmai_tensor_from_array(tout(1), pft_out, ierr); call check('tensor')
  call elmai_tensor_from_array(tout(2), soil_out, ierr); call check('tensor')
  call elmai_model_forward(model, tin, tout, ierr); call check('forward')
  ! for information: the prediction itself against the CLI's (saved in the inputs file)
  print '(a,es10.3)', 'model output vs the CLI''s prediction, max relative difference: ', &
    max(0.0_real64, maxval(abs(pft_out - cli_pft)/max(abs(cli_pft), 1.0e-12_real64)), &
        maxval(abs(soil_out - cli_soil)/max(abs(cli_soil), 1.0e-12_real64)))

  ! ---- scatter back ELM-style (written pools, PFTs of non-zero weight) and compare -----
  worst = 0.0_real64
  do j = 1, npool
    do e = 1, 3
      if (.not. present_in_early(trim(pft_pools(j))//elements(e))) cycle
      call elmai_restart_read(early, trim(pft_pools(j))//elements(e), mine, ierr); call check('read pft pool')
      if (written_pft(j) > 0) then
        do i = 1, ncell
          do t = 1, npft
            p = slot(t, i)
            if (p == 0 .or. .not. weight64(t, i) > 0) cycle   ! zero weight: ELM's seed pools stay
            new_c = real(pft_out(j, t, i), real64)
            select case (e)
            case (1); mine(p) = new_c
            case (2); mine(p) = merge(new_c/pft_cn(t, j), 0.0_real64, pft_cn(t, j) > 0)
            case (3); mine(p) = merge(new_c/pft_cp(t, j), 0.0_real64, pft_cp(t, j) > 0)
            end select
          end do
        end do
      end if
      call compare_1d(trim(pft_pools(j))//elements(e))
    end do
  end do
  if (present_in_early('tlai')) then
    call elmai_restart_read(early, 'tlai', mine, ierr); call check('read tlai')
    if (written_pft(1) > 0) then   ! tlai follows leaf C
      do i = 1, ncell
        do t = 1, npft
          p = slot(t, i)
          if (p > 0 .and. weight64(t, i) > 0) mine(p) = real(pft_out(1, t, i), real64)*slatop(t)
        end do
      end do
    end if
    call compare_1d('tlai')
  end if
  do k = 1, nsoil
    call elmai_restart_read(early, trim(soil_pools(k))//'c_vr', vr_c, ierr); call check('read soil C')
    do e = 1, 3
      if (.not. present_in_early(trim(soil_pools(k))//elements(e)//'_vr')) cycle
      call elmai_restart_read(early, trim(soil_pools(k))//elements(e)//'_vr', vr, ierr); call check('read soil')
      mine2 = vr
      if (written_soil(k) > 0) then
        do i = 1, ncell
          c = veg_col(i)
          col_c = sum(vr_c(1:nlev, c)*dz)
          col_x = sum(vr(1:nlev, c)*dz)
          do lev = 1, nlev
            new_c = real(soil_out(k, lev, i), real64)
            if (e == 1) then
              mine2(lev, c) = new_c
            else if (e == 2 .and. soil_cn(k) > 0) then   ! soil1..4: ELM's fixed C:N
              mine2(lev, c) = new_c/soil_cn(k)
            else   ! floating X:C: the early restart's at this level, else the column's
              if (vr_c(lev, c) > 0) then
                ratio = vr(lev, c)/vr_c(lev, c)
              else if (col_c > 0) then
                ratio = col_x/col_c
              else   ! no pool C in the column: the ratio of what feeds it
                ratio = fallback(k, e - 1, i)
              end if
              mine2(lev, c) = new_c*ratio
            end if
          end do
        end do
      end if
      call compare_2d(trim(soil_pools(k))//elements(e)//'_vr')
    end do
  end do
  print '(a,i0,a,i0,a,i0,a)', 'spun up ', ncell, ' natural-vegetation column(s) of ', ncol, ' column(s), ', &
    npfts, ' pft(s)'
  print '(a,es10.3)', 'in-model spin-up vs elmai spinup, max relative difference over every pool: ', worst
  call elmai_model_free(model)
  call elmai_restart_close(early, ierr)
  call elmai_restart_close(inp, ierr)
  call elmai_restart_close(cli, ierr)
  if (worst > 1.0e-6_real64) stop 1

contains

  logical function present_in_early(name)
    character(len=*), intent(in) :: name
    integer :: n, status
    integer(int64) :: s(8)
    call elmai_restart_var_shape(early, name, n, s, status)
    present_in_early = status == ELMAI_OK
  end function present_in_early

  !> |a - b| / max(|b|, 1e-12); 0 where both are the same (NaN or fill included).
  elemental real(real64) function reldiff(a, b)
    real(real64), intent(in) :: a, b
    if (a == b .or. (ieee_is_nan(a) .and. ieee_is_nan(b))) then
      reldiff = 0.0_real64
    else if (ieee_is_nan(a) .or. ieee_is_nan(b)) then
      reldiff = huge(1.0_real64)
    else
      reldiff = abs(a - b)/max(abs(b), 1.0e-12_real64)
    end if
  end function reldiff

  subroutine compare_1d(name)
    character(len=*), intent(in) :: name
    call elmai_restart_read(cli, name, theirs, ierr); call check('read CLI '//name)
    diff = max(0.0_real64, maxval(reldiff(mine, theirs)))
    worst = max(worst, diff)
    if (diff > 1.0e-6_real64) print '(a,a,es10.3)', 'DIFFERS ', name, diff
  end subroutine compare_1d

  subroutine compare_2d(name)
    character(len=*), intent(in) :: name
    call elmai_restart_read(cli, name, theirs2, ierr); call check('read CLI '//name)
    diff = max(0.0_real64, maxval(reldiff(mine2, theirs2)))
    worst = max(worst, diff)
    if (diff > 1.0e-6_real64) print '(a,a,es10.3)', 'DIFFERS ', name, diff
  end subroutine compare_2d

  subroutine check(what)
    character(len=*), intent(in) :: what
    if (ierr /= ELMAI_OK) then
      ! ELM would log this and carry on with its conventional spin-up; the example stops.
      print '(a)', 'elmai '//what//' failed: '//elmai_last_error()
      stop 1
    end if
  end subroutine check

  subroutine fail(what)
    character(len=*), intent(in) :: what
    print '(a)', 'spinup_in_model: '//what
    stop 1
  end subroutine fail

end program spinup_in_model
