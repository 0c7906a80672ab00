!> The Fortran path (module elmai: tensor views + forward + status), timed per forward.
!> Usage: forward_fortran MODEL NTHREADS BATCH...   prints "fortran BATCH US"
program forward_fortran
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use elmai
  implicit none
  type(elmai_model) :: model
  type(elmai_tensor) :: tin(1), tout(1)
  real(real32), allocatable, target :: x(:, :), y(:, :)
  character(len=1024) :: path, arg
  integer :: ierr, nthreads, a, i, r, iters, batch
  integer(int64) :: t0, t1, rate
  real(real64) :: runs(5)

  call get_command_argument(1, path)
  call get_command_argument(2, arg)
  read (arg, *) nthreads
  call elmai_model_load(model, path, ierr, nthreads=nthreads)
  if (ierr /= ELMAI_OK) stop 1
  call system_clock(count_rate=rate)
  do a = 3, command_argument_count()
    call get_command_argument(a, arg)
    read (arg, *) batch
    iters = min(20000, max(5, 200000/(batch + 10)))
    allocate (x(5, batch), y(3, batch))
    x = 0.5
    call elmai_tensor_from_array(tin(1), x, ierr)
    call elmai_tensor_from_array(tout(1), y, ierr)
    do i = 1, 20
      call elmai_model_forward(model, tin, tout, ierr)
    end do
    do r = 1, 5
      call system_clock(t0)
      do i = 1, iters
        call elmai_model_forward(model, tin, tout, ierr)
      end do
      call system_clock(t1)
      runs(r) = real(t1 - t0, real64)/real(rate, real64)*1d6/iters
    end do
    if (ierr /= ELMAI_OK) stop 2
    print '(a,1x,i0,1x,f0.3)', 'fortran', batch, minval(runs)  ! best of 5, as the C++ driver
    call elmai_tensor_free(tin(1))
    call elmai_tensor_free(tout(1))
    deallocate (x, y)
  end do
  call elmai_model_free(model)
end program forward_fortran
