!> FPE-trap test: compiled with -ffpe-trap=invalid,zero,overflow (as ELM debug builds
!> are), so any floating-point exception raised on this thread would kill it with
!> SIGFPE. Loads and runs a model whose computation raises invalid, overflow and
!> division by zero internally (outputs still finite); elmai masks traps around load
!> and forward and restores them after. Prints the trap state before and after, the
!> statuses and a checksum of the outputs.
!> Usage: fpe_traps MODEL NTHREADS
program fpe_traps
  use, intrinsic :: iso_fortran_env, only: real32
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use, intrinsic :: ieee_exceptions, only: ieee_get_halting_mode, ieee_invalid, ieee_overflow, ieee_divide_by_zero
  use elmai
  implicit none
  integer, parameter :: nfeat = 4, ncells = 4096
  real(real32), target :: x(nfeat, ncells), y(nfeat, ncells)
  type(elmai_model) :: model
  type(elmai_tensor) :: inputs(1), outputs(1)
  character(len=1024) :: path, arg
  integer :: ierr, nthreads, i, j
  logical :: h_invalid, h_overflow, h_zero

  call get_command_argument(1, path)
  call get_command_argument(2, arg)
  read (arg, *) nthreads
  call report_traps('traps_before')
  do j = 1, ncells
    do i = 1, nfeat
      x(i, j) = real(mod(i*j, 7) - 3, real32)*0.5_real32   ! -1.5 .. 1.5, zeros included
    end do
  end do
  call elmai_model_load(model, path, ierr, nthreads=nthreads)
  print '(a,i0)', 'load ', ierr
  if (ierr /= ELMAI_OK) then
    print '(a)', 'message '//elmai_last_error()
    stop 1
  end if
  call elmai_tensor_from_array(inputs(1), x, ierr)
  call elmai_tensor_from_array(outputs(1), y, ierr)
  do i = 1, 3
    call elmai_model_forward(model, inputs, outputs, ierr)
    if (ierr /= ELMAI_OK) exit
  end do
  print '(a,i0)', 'forward ', ierr
  if (ierr /= ELMAI_OK) print '(a)', 'message '//elmai_last_error()
  print '(a,l1)', 'finite ', all(ieee_is_finite(y))
  print '(a,es24.16)', 'checksum ', sum(real(y, kind(1.0d0)))
  call elmai_tensor_free(inputs(1))
  call elmai_tensor_free(outputs(1))
  call elmai_model_free(model)
  call report_traps('traps_after')
  print '(a)', 'done'

contains

  subroutine report_traps(label)
    character(len=*), intent(in) :: label
    call ieee_get_halting_mode(ieee_invalid, h_invalid)
    call ieee_get_halting_mode(ieee_overflow, h_overflow)
    call ieee_get_halting_mode(ieee_divide_by_zero, h_zero)
    print '(a,1x,l1,1x,l1,1x,l1)', label, h_invalid, h_overflow, h_zero
  end subroutine report_traps

end program fpe_traps
