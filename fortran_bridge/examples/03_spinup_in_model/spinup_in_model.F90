!> Example 03: the AI spin-up done in-model, ELM-style, through module elmai.
!>
!> What ELM would do at the end of its ~20-year run, with its own arrays: gather each
!> gridcell's PFT pools (pft-level leafc, ..., deadcrootc) and layered soil pools
!> (soil*c_vr, litr*c_vr, cwdc_vr on (levgrnd, column)), run the exported spin-up model
!> once through libtorch (zero-copy tensors, status codes), and scatter the predicted
!> carbon back into its pft and column arrays, with N and P by stoichiometry exactly as
!> `elmai spinup` merges them (docs/ai_spinup.md). Climate inputs (monthly forcing
!> climatology, static fields, climatological decay rates) and the merge ratios come from
!> the file `elmai spinup --save-inputs` writes (ELM would accumulate them in memory).
!>
!> The program then compares every merged pool with the restart the CLI wrote and fails
!> if any differs by more than 1e-6 (relative).
!>
!> Usage: spinup_in_model MODEL.pt EARLY.nc INPUTS.nc AI_FROM_CLI.nc
program spinup_in_model
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use elmai
  implicit none
  integer, parameter :: npft = 17, npool = 6, nsoil = 8, nlev = 10, nmon = 12, nforce = 7, nstatic = 10
  character(len=10), parameter :: pft_pools(npool) = [character(len=10) :: 'leaf', 'froot', 'livestem', &
                                                      'deadstem', 'livecroot', 'deadcroot']
  character(len=5), parameter :: soil_pools(nsoil) = [character(len=5) :: 'litr1', 'litr2', 'litr3', 'cwd', &
                                                      'soil1', 'soil2', 'soil3', 'soil4']
  character(len=1), parameter :: elements(3) = ['c', 'n', 'p']
  character(len=1024) :: model_path, early_path, inputs_path, cli_path
  type(elmai_restart) :: early, inp, cli
  type(elmai_model) :: model
  type(elmai_tensor) :: tin(6), tout(2)
  real(real64), allocatable :: forcing64(:, :, :), static64(:, :), weight64(:, :), rate64(:, :, :)
  real(real32), allocatable, target :: forcing(:, :, :), static(:, :), weight(:, :), rate(:, :, :)
  real(real32), allocatable, target :: pft_early(:, :, :), soil_early(:, :, :), pft_out(:, :, :), soil_out(:, :, :)
  real(real64), allocatable :: pft_cn(:, :), pft_cp(:, :), soil_cn(:), soil_cp(:), slatop(:), dz(:), spin(:)
  real(real64), allocatable :: pft_gridcell(:), pft_type(:), pft_column(:), col_gridcell(:), col_ltype(:)
  real(real64), allocatable :: pool(:), vr(:, :), vr_c(:, :), mine(:), theirs(:), mine2(:, :), theirs2(:, :)
  integer, allocatable :: veg_col(:)
  integer(int64) :: shp(8)
  integer :: ierr, nd, ncell, npfts, ncol, p, g, t, c, j, k, e, lev
  real(real64) :: worst, diff, ratio, col_ratio

  call get_command_argument(1, model_path)
  call get_command_argument(2, early_path)
  call get_command_argument(3, inputs_path)
  call get_command_argument(4, cli_path)
  call elmai_restart_open(early, early_path, ierr); call check('open early restart')
  call elmai_restart_open(inp, inputs_path, ierr); call check('open inputs')
  call elmai_restart_open(cli, cli_path, ierr); call check('open CLI restart')

  ! ---- climate inputs and ratios (file C order reversed: Fortran (var, month, cell)) ----
  call elmai_restart_var_shape(inp, 'static', nd, shp, ierr); call check('shape')
  ncell = int(shp(2))
  allocate (forcing64(nforce, nmon, ncell), static64(nstatic, ncell), weight64(npft, ncell), &
            rate64(nsoil, nlev, ncell), pft_cn(npft, npool), pft_cp(npft, npool), soil_cn(nsoil), &
            soil_cp(nsoil), slatop(npft), dz(nlev), spin(1))
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
  forcing = real(forcing64, real32)
  static = real(static64, real32)
  weight = real(weight64, real32)
  rate = real(rate64, real32)

  ! ---- ELM's subgrid: the vegetated column of each gridcell, each pft's slot ---------
  call elmai_restart_read(early, 'spinup_state', spin(1), ierr); call check('read spinup_state')
  if (nint(spin(1)) /= 0) then
    print '(a)', 'this example handles normal-mode restarts (spinup_state = 0); `elmai spinup` also does AD'
    stop 2
  end if
  call elmai_restart_var_shape(early, 'pfts1d_itypveg', nd, shp, ierr); call check('shape')
  npfts = int(shp(1))
  call elmai_restart_var_shape(early, 'cols1d_ityplun', nd, shp, ierr); call check('shape')
  ncol = int(shp(1))
  allocate (pft_gridcell(npfts), pft_type(npfts), pft_column(npfts), col_gridcell(ncol), col_ltype(ncol), &
            veg_col(ncell), pool(npfts), vr(15, ncol), vr_c(15, ncol))
  call elmai_restart_read(early, 'pfts1d_gridcell_index', pft_gridcell, ierr); call check('read pfts1d')
  call elmai_restart_read(early, 'pfts1d_itypveg', pft_type, ierr); call check('read pfts1d')
  call elmai_restart_read(early, 'pfts1d_column_index', pft_column, ierr); call check('read pfts1d')
  call elmai_restart_read(early, 'cols1d_gridcell_index', col_gridcell, ierr); call check('read cols1d')
  call elmai_restart_read(early, 'cols1d_ityplun', col_ltype, ierr); call check('read cols1d')
  veg_col = 0
  do c = 1, ncol
    if (nint(col_ltype(c)) == 1) veg_col(nint(col_gridcell(c))) = c   ! istsoil
  end do

  ! ---- gather the early pools into the model's layout (pool, pft, cell) ----------------
  allocate (pft_early(npool, npft, ncell), soil_early(nsoil, nlev, ncell), pft_out(npool, npft, ncell), &
            soil_out(nsoil, nlev, ncell))
  pft_early = 0.0
  do j = 1, npool
    call elmai_restart_read(early, trim(pft_pools(j))//'c', pool, ierr); call check('read '//pft_pools(j))
    do p = 1, npfts
      g = nint(pft_gridcell(p))
      t = nint(pft_type(p)) + 1
      if (t <= npft .and. nint(pft_column(p)) == veg_col(g)) pft_early(j, t, g) = real(pool(p), real32)
    end do
  end do
  do k = 1, nsoil
    call elmai_restart_read(early, trim(soil_pools(k))//'c_vr', vr, ierr); call check('read '//soil_pools(k))
    do g = 1, ncell
      soil_early(k, :, g) = real(vr(1:nlev, veg_col(g)), real32)
    end do
  end do

  ! ---- one forward pass: Fortran (a, b, cell) is the model's [cell, b, a] -------------
  call elmai_model_load(model, model_path, ierr, device='cpu'); call check('load model')
  call elmai_tensor_from_array(tin(1), forcing, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(2), static, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(3), weight, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(4), pft_early, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(5), soil_early, ierr); call check('tensor')
  call elmai_tensor_from_array(tin(6), rate, ierr); call check('tensor')
  call elmai_tensor_from_array(tout(1), pft_out, ierr); call check('tensor')
  call elmai_tensor_from_array(tout(2), soil_out, ierr); call check('tensor')
  call elmai_model_forward(model, tin, tout, ierr); call check('forward')

  ! ---- scatter back ELM-style and compare with the CLI's restart ----------------------
  worst = 0.0_real64
  allocate (mine(npfts), theirs(npfts), mine2(15, ncol), theirs2(15, ncol))
  do j = 1, npool
    do e = 1, 3
      call elmai_restart_read(early, trim(pft_pools(j))//elements(e), mine, ierr); call check('read pft pool')
      do p = 1, npfts
        g = nint(pft_gridcell(p))
        t = nint(pft_type(p)) + 1
        if (t > npft .or. nint(pft_column(p)) /= veg_col(g)) cycle
        mine(p) = real(pft_out(j, t, g), real64)
        if (e == 2) mine(p) = merge(mine(p)/pft_cn(t, j), 0.0_real64, pft_cn(t, j) > 0)
        if (e == 3) mine(p) = merge(mine(p)/pft_cp(t, j), 0.0_real64, pft_cp(t, j) > 0)
      end do
      call compare_1d(trim(pft_pools(j))//elements(e))
    end do
  end do
  call elmai_restart_read(early, 'tlai', mine, ierr); call check('read tlai')
  do p = 1, npfts
    g = nint(pft_gridcell(p))
    t = nint(pft_type(p)) + 1
    if (t <= npft .and. nint(pft_column(p)) == veg_col(g)) mine(p) = real(pft_out(1, t, g), real64)*slatop(t)
  end do
  call compare_1d('tlai')
  do k = 1, nsoil
    call elmai_restart_read(early, trim(soil_pools(k))//'c_vr', vr_c, ierr); call check('read soil C')
    do e = 1, 3
      call elmai_restart_read(early, trim(soil_pools(k))//elements(e)//'_vr', vr, ierr); call check('read soil')
      mine2 = vr
      do g = 1, ncell
        c = veg_col(g)
        col_ratio = sum(vr(1:nlev, c)*dz)/max(sum(vr_c(1:nlev, c)*dz), 1.0e-300_real64)
        do lev = 1, nlev
          mine2(lev, c) = real(soil_out(k, lev, g), real64)
          if (e == 1) cycle
          if (k >= 5) then   ! soil1..4: ELM's fixed C:N and C:P
            mine2(lev, c) = mine2(lev, c)/merge(soil_cn(k), soil_cp(k), e == 2)
          else               ! litter and CWD keep the early restart's C:N:P
            ratio = col_ratio
            if (vr_c(lev, c) > 0) ratio = vr(lev, c)/vr_c(lev, c)
            mine2(lev, c) = mine2(lev, c)*ratio
          end if
        end do
      end do
      call compare_2d(trim(soil_pools(k))//elements(e)//'_vr')
    end do
  end do
  print '(a,es10.3)', 'in-model spin-up vs elmai spinup, max relative difference over every pool: ', worst
  call elmai_model_free(model)
  call elmai_restart_close(early, ierr)
  call elmai_restart_close(inp, ierr)
  call elmai_restart_close(cli, ierr)
  if (worst > 1.0e-6_real64) stop 1

contains

  subroutine compare_1d(name)
    character(len=*), intent(in) :: name
    call elmai_restart_read(cli, name, theirs, ierr); call check('read CLI '//name)
    diff = maxval(abs(mine - theirs)/max(abs(theirs), 1.0e-12_real64))
    worst = max(worst, diff)
    if (diff > 1.0e-6_real64) print '(a,a,es10.3)', 'DIFFERS ', name, diff
  end subroutine compare_1d

  subroutine compare_2d(name)
    character(len=*), intent(in) :: name
    call elmai_restart_read(cli, name, theirs2, ierr); call check('read CLI '//name)
    diff = maxval(abs(mine2 - theirs2)/max(abs(theirs2), 1.0e-12_real64))
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

end program spinup_in_model
