!> Fortran test: read ELM restart pools through module elmai, ELM-style arrays.
!> Usage: read_restart FILE   prints per-variable sums and status checks.
program read_restart
  use, intrinsic :: iso_fortran_env, only: real64, int64
  use elmai
  implicit none
  type(elmai_restart) :: rst
  character(len=1024) :: path
  real(real64), allocatable :: soil4c_vr(:, :), tlai(:), wrong(:, :)
  real(real64) :: spinup_state
  integer(int64) :: shp(8)
  integer :: ierr, ndims, failures

  failures = 0
  call get_command_argument(1, path)
  call elmai_restart_open(rst, path, ierr)
  if (ierr /= ELMAI_OK) then
    print '(a)', 'open failed: '//elmai_last_error()
    stop 1
  end if

  ! (column, levgrnd) in the file is (levgrnd, column) here: no transpose, no copy
  call elmai_restart_var_shape(rst, 'soil4c_vr', ndims, shp, ierr)
  call check(ierr == ELMAI_OK .and. ndims == 2, 'var_shape soil4c_vr')
  allocate (soil4c_vr(shp(1), shp(2)))
  call elmai_restart_read(rst, 'soil4c_vr', soil4c_vr, ierr)
  call check(ierr == ELMAI_OK, 'read soil4c_vr')
  print '(a,i0,1x,i0)', 'soil4c_vr shape ', size(soil4c_vr, 1), size(soil4c_vr, 2)
  print '(a,es25.17)', 'soil4c_vr column 1 level 1 ', soil4c_vr(1, 1)
  print '(a,es25.17)', 'soil4c_vr column 2 level 3 ', soil4c_vr(3, 2)

  call elmai_restart_var_shape(rst, 'tlai', ndims, shp, ierr)
  allocate (tlai(shp(1)))
  call elmai_restart_read(rst, 'tlai', tlai, ierr)
  call check(ierr == ELMAI_OK, 'read tlai')
  print '(a,es25.17)', 'tlai sum ', sum(tlai)

  call elmai_restart_read(rst, 'spinup_state', spinup_state, ierr)
  call check(ierr == ELMAI_OK, 'read spinup_state')
  print '(a,i0)', 'spinup_state ', nint(spinup_state)

  ! error paths return a status and a message; the program goes on
  call elmai_restart_read(rst, 'soil9c_vr', tlai, ierr)
  call check(ierr == ELMAI_ERR_VARIABLE .and. index(elmai_last_error(), 'soil9c_vr') > 0, 'unknown variable')
  allocate (wrong(size(soil4c_vr, 2), size(soil4c_vr, 1)))  ! transposed by mistake
  call elmai_restart_read(rst, 'soil4c_vr', wrong, ierr)
  call check(ierr == ELMAI_ERR_SHAPE .and. index(elmai_last_error(), 'shape') > 0, 'wrong shape')
  call elmai_restart_read(rst, 'soil4c_vr', tlai, ierr)
  call check(ierr == ELMAI_ERR_SHAPE, 'wrong rank')

  call elmai_restart_close(rst, ierr)
  call check(ierr == ELMAI_OK, 'close')
  block
    type(elmai_restart) :: missing
    call elmai_restart_open(missing, '/nonexistent/restart.nc', ierr)
    call check(ierr == ELMAI_ERR_FILE .and. len(elmai_last_error()) > 0, 'missing file')
  end block
  print '(a,a)', 'elmai version ', elmai_version()
  if (failures > 0) then
    print '(a,i0)', 'FAILED checks: ', failures
    stop 1
  end if
  print '(a)', 'all checks passed'

contains

  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (.not. ok) then
      failures = failures + 1
      print '(a)', 'check failed: '//what//' ('//elmai_last_error()//')'
    end if
  end subroutine check

end program read_restart
