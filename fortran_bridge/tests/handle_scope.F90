!> Handles released by their final procedures: N calls of a subroutine whose local
!> model, tensors and restart handles are never freed explicitly (and are copied, so
!> the reference counting is exercised too). Prints the library's live-object counts
!> and resident memory (kB) after the first 10% of calls and at the end.
!> Usage: handle_scope MODEL.pt RESTART.nc N
program handle_scope
  use, intrinsic :: iso_fortran_env, only: real32, int64
  use elmai
  implicit none
  character(len=1024) :: model_path, restart_path, arg
  integer :: ncalls, i, ierr, nr, nm, nt
  integer(int64) :: rss_early

  call get_command_argument(1, model_path)
  call get_command_argument(2, restart_path)
  call get_command_argument(3, arg)
  read (arg, *) ncalls
  rss_early = 0
  do i = 1, ncalls
    call one_scope(ierr)
    if (ierr /= ELMAI_OK) then
      print '(a,i0,1x,a)', 'error ', ierr, elmai_last_error()
      stop 1
    end if
    if (i == max(1, ncalls/10)) rss_early = rss_kb()
  end do
  call elmai_live_handles(nr, nm, nt, ierr)
  print '(a,i0)', 'calls ', ncalls
  print '(a,3(1x,i0))', 'live_after', nr, nm, nt
  call copies_outlive_originals(ierr)
  print '(a,i0)', 'copies ', ierr
  call elmai_live_handles(nr, nm, nt, ierr)
  print '(a,3(1x,i0))', 'live_end', nr, nm, nt
  print '(a,i0)', 'rss_early_kb ', rss_early
  print '(a,i0)', 'rss_end_kb ', rss_kb()

contains

  subroutine one_scope(ierr)
    integer, intent(out) :: ierr
    real(real32), target :: x(5, 64), y(3, 64)
    real(kind(1.0d0)), allocatable :: lat(:)
    type(elmai_model) :: model, alias
    type(elmai_tensor) :: inputs(1), outputs(1), spare(2)
    type(elmai_restart) :: file
    integer(int64) :: shape(4)
    integer :: ndims
    x = 0.25
    call elmai_model_load(model, model_path, ierr, nthreads=1)
    if (ierr /= ELMAI_OK) return
    alias = model                       ! shared: both released at the end of the scope
    call elmai_tensor_from_array(inputs(1), x, ierr)
    call elmai_tensor_from_array(outputs(1), y, ierr)
    spare = [inputs(1), outputs(1)]     ! array assignment of handles
    call elmai_tensor_from_array(spare(1), y, ierr)  ! re-wrap: releases its old reference
    call elmai_model_forward(alias, inputs, outputs, ierr)
    if (ierr /= ELMAI_OK) return
    call elmai_restart_open(file, restart_path, ierr)
    if (ierr /= ELMAI_OK) return
    call elmai_restart_var_shape(file, 'grid1d_lat', ndims, shape, ierr)
    if (ierr /= ELMAI_OK) return
    allocate (lat(shape(1)))
    call elmai_restart_read(file, 'grid1d_lat', lat, ierr)
  end subroutine one_scope

  subroutine copies_outlive_originals(ierr)
    integer, intent(out) :: ierr
    real(real32), target :: x(5, 4), y(3, 4)
    type(elmai_model) :: keep
    type(elmai_tensor) :: ins(1), outs(1)
    x = 0.5
    call make(keep, ins(1), outs(1), x, y, ierr)   ! the originals inside make() are gone
    if (ierr /= ELMAI_OK) return
    call elmai_model_forward(keep, ins, outs, ierr)
  end subroutine copies_outlive_originals

  subroutine make(keep, tin, tout, x, y, ierr)
    type(elmai_model), intent(inout) :: keep
    type(elmai_tensor), intent(inout) :: tin, tout
    real(real32), intent(in), target :: x(5, 4), y(3, 4)  ! explicit shape: wrapped in place, never a packed copy
    integer, intent(out) :: ierr
    type(elmai_model) :: local
    type(elmai_tensor) :: a, b
    call elmai_model_load(local, model_path, ierr, nthreads=1)
    if (ierr /= ELMAI_OK) return
    call elmai_tensor_from_array(a, x, ierr)
    call elmai_tensor_from_array(b, y, ierr)
    keep = local
    tin = a
    tout = b
    call elmai_model_free(local)   ! explicit release of one reference: keep stays valid
  end subroutine make

  function rss_kb() result(kb)
    integer(int64) :: kb, pages_total, pages_rss
    integer :: unit
    open (newunit=unit, file='/proc/self/statm', action='read')
    read (unit, *) pages_total, pages_rss
    close (unit)
    kb = pages_rss*4
  end function rss_kb

end program handle_scope
