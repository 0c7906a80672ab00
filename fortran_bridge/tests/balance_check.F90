!> Fortran balance check test: a step that closes everywhere except at known columns.
!> Usage: balance_check   prints nfail, nwarn, failing columns, max error, status checks
program balance_check
  use, intrinsic :: iso_fortran_env, only: real64
  use elmai
  implicit none
  integer, parameter :: ncol = 1000
  real(real64), parameter :: dt = 1800.0_real64
  real(real64), target :: begin(ncol), end(ncol), inputs(ncol, 1), outputs(ncol, 3), bad(ncol - 1)
  integer :: ierr, nfail, nwarn, failing(5), c
  real(real64) :: max_error

  do c = 1, ncol
    begin(c) = 1000.0_real64 + c
    inputs(c, 1) = 2.0e-4_real64*c/ncol            ! gpp (gC/m2/s)
    outputs(c, 1) = 0.5_real64*inputs(c, 1)        ! ar
    outputs(c, 2) = 0.3_real64*inputs(c, 1)        ! hr
    outputs(c, 3) = 0.0_real64                     ! fire
    end(c) = begin(c) + (inputs(c, 1) - sum(outputs(c, :)))*dt
  end do
  end(17) = end(17) + 3.0e-6_real64     ! fails (> 1e-7)
  end(640) = end(640) - 2.0e-5_real64   ! fails
  end(900) = end(900) + 5.0e-8_real64   ! within the tolerance

  call elmai_balance_check_columns(begin, end, inputs, outputs, dt, nfail, ierr, nwarn=nwarn, max_error=max_error, &
                                   failing_columns=failing)
  print '(a,i0)', 'status ', ierr
  print '(a,i0)', 'nfail ', nfail
  print '(a,5(1x,i0))', 'failing', failing
  print '(a,es12.4)', 'max_error ', max_error

  ! water-style thresholds: warn above 1e-7, fail above 1e-4
  call elmai_balance_check_columns(begin, end, inputs, outputs, dt, nfail, ierr, tolerance=ELMAI_WATER_FAIL, &
                                   warn_tolerance=ELMAI_WATER_WARN, nwarn=nwarn)
  print '(a,i0,1x,i0)', 'water ', nfail, nwarn

  ! misuse returns a status and a message
  call elmai_balance_check_columns(begin, bad, inputs, outputs, dt, nfail, ierr)
  print '(a,i0,1x,a)', 'error_shape ', ierr, elmai_last_error()
  call elmai_balance_check_columns(begin, end, inputs, outputs, -1.0_real64, nfail, ierr)
  print '(a,i0,1x,a)', 'error_dt ', ierr, elmai_last_error()
end program balance_check
