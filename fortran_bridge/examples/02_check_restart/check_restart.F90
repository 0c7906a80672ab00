!> Example 02: read an ELM restart and check it from Fortran.
!>
!> Reads soil1..soil4 carbon (levgrnd, column) and totsomc (column), sums the pools over
!> the 10 BGC levels with ELM's layer thicknesses, and asks elmai's balance check whether
!> totsomc agrees with its pools: with no fluxes, ELM's formula
!>   err = (inputs - outputs) * dt - (end - begin)
!> reduces to end - begin, the mismatch between the stored total and the pools.
!>
!> Usage: check_restart RESTART.nc     prints the columns that disagree (1-based)
program check_restart
  use, intrinsic :: iso_fortran_env, only: real64, int64
  use elmai
  implicit none
  integer, parameter :: nlevdecomp = 10, nlevgrnd = 15
  real(real64), parameter :: spval = 1.0e36_real64
  type(elmai_restart) :: rst
  character(len=1024) :: path
  character(len=9) :: pool
  real(real64), allocatable, target :: soil(:, :), stock(:), totsomc(:), no_flux(:, :)
  real(real64) :: dz(nlevgrnd), max_error
  integer(int64) :: shp(8)
  integer :: ierr, nd, ncol, k, c, nfail, failing(10)

  call get_command_argument(1, path)
  call elmai_restart_open(rst, path, ierr)
  call check('open')
  call elmai_restart_var_shape(rst, 'totsomc', nd, shp, ierr)
  call check('shape of totsomc')
  ncol = int(shp(1))
  allocate (soil(nlevgrnd, ncol), stock(ncol), totsomc(ncol), no_flux(ncol, 0))
  call elmai_restart_read(rst, 'totsomc', totsomc, ierr)
  call check('read totsomc')

  dz = layer_thickness()
  stock = 0.0_real64
  do k = 1, 4
    write (pool, '(a,i0,a)') 'soil', k, 'c_vr'
    call elmai_restart_read(rst, pool, soil, ierr)   ! file (column, levgrnd) = Fortran (levgrnd, column)
    call check('read '//pool)
    do c = 1, ncol
      if (soil(1, c) >= 1.0e35_real64) then   ! non-soil columns hold ELM's fill value
        stock(c) = spval
      else if (stock(c) < 1.0e35_real64) then
        stock(c) = stock(c) + sum(soil(1:nlevdecomp, c)*dz(1:nlevdecomp))
      end if
    end do
  end do
  call elmai_restart_close(rst, ierr)
  where (stock >= 1.0e35_real64 .or. totsomc >= 1.0e35_real64)  ! nothing to compare there
    stock = 0.0_real64
    totsomc = 0.0_real64
  end where

  ! begin = stored total, end = sum of the pools; 1e-6 gC/m2 allows summation order only
  call elmai_balance_check_columns(totsomc, stock, no_flux, no_flux, 1.0_real64, nfail, ierr, &
                                   tolerance=1.0e-6_real64, max_error=max_error, failing_columns=failing)
  call check('balance check')
  print '(a,i0,a,i0,a)', 'columns checked: ', ncol, ', disagreeing: ', nfail
  print '(a,es10.3)', 'largest |totsomc - pools| (gC/m2): ', max_error
  if (nfail > 0) print '(a,10(1x,i0))', 'first disagreeing columns:', pack(failing, failing > 0)

contains

  !> ELM's standard soil layers: node depths 0.025 (exp(0.5 (j - 0.5)) - 1) m.
  function layer_thickness() result(dz)
    real(real64) :: dz(nlevgrnd), z(nlevgrnd)
    integer :: j
    do j = 1, nlevgrnd
      z(j) = 0.025_real64*(exp(0.5_real64*(j - 0.5_real64)) - 1.0_real64)
    end do
    dz(1) = 0.5_real64*(z(1) + z(2))
    do j = 2, nlevgrnd - 1
      dz(j) = 0.5_real64*(z(j + 1) - z(j - 1))
    end do
    dz(nlevgrnd) = z(nlevgrnd) - z(nlevgrnd - 1)
  end function layer_thickness

  subroutine check(what)
    character(len=*), intent(in) :: what
    if (ierr /= ELMAI_OK) then
      print '(a)', 'elmai '//what//' failed: '//elmai_last_error()
      stop 1
    end if
  end subroutine check

end program check_restart
