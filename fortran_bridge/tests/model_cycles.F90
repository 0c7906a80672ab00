!> Leak test: N cycles of load / wrap / forward / free. Prints resident memory (kB,
!> from /proc/self/statm) after the first 10% of cycles and at the end.
!> Usage: model_cycles MODEL.pt N
program model_cycles
  use, intrinsic :: iso_fortran_env, only: real32, int64
  use elmai
  implicit none
  real(real32), target :: x(5, 64), y(3, 64)
  type(elmai_model) :: model
  type(elmai_tensor) :: inputs(1), outputs(1)
  character(len=1024) :: path, arg
  integer :: ncycles, i, ierr
  integer(int64) :: rss_early

  call get_command_argument(1, path)
  call get_command_argument(2, arg)
  read (arg, *) ncycles
  x = 0.25
  rss_early = 0
  do i = 1, ncycles
    call elmai_model_load(model, path, ierr, nthreads=1)
    if (ierr /= ELMAI_OK) stop 1
    call elmai_tensor_from_array(inputs(1), x, ierr)
    call elmai_tensor_from_array(outputs(1), y, ierr)
    call elmai_model_forward(model, inputs, outputs, ierr)
    if (ierr /= ELMAI_OK) stop 2
    call elmai_model_forward(model, outputs, inputs, ierr)  ! an error path every cycle too
    if (ierr == ELMAI_OK) stop 3
    call elmai_tensor_free(inputs(1))
    call elmai_tensor_free(outputs(1))
    call elmai_model_free(model)
    if (i == max(1, ncycles/10)) rss_early = rss_kb()
  end do
  print '(a,i0)', 'cycles ', ncycles
  print '(a,i0)', 'rss_early_kb ', rss_early
  print '(a,i0)', 'rss_end_kb ', rss_kb()

contains

  function rss_kb() result(kb)
    integer(int64) :: kb, pages_total, pages_rss
    integer :: unit
    open (newunit=unit, file='/proc/self/statm', action='read')
    read (unit, *) pages_total, pages_rss
    close (unit)
    kb = pages_rss*4
  end function rss_kb

end program model_cycles
