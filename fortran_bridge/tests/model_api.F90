!> Fortran inference test: several inputs/outputs, real64, layouts, threads, the
!> namelist, and every error path (status + message, the program goes on).
!> Usage: model_api DIR   (DIR holds cell_mlp.pt, two_inputs_dict.pt, index_weighted.pt)
program model_api
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use elmai
  implicit none
  integer, parameter :: n = 6
  character(len=1024) :: dir
  type(elmai_model) :: mlp, two, idx, bad
  type(elmai_tensor) :: t_in(2), t_out(2), t1(1), t2(1), none(0)
  real(real64), target :: forcing(4, n), pools(3, n), pools_eq(3, n), flux(1, n)
  real(real32), target :: z(2, 3, 4), w(2, 3, 4), x32(5, n), y32(3, n), y_bad(4, n), wrong(2, n)
  real(real64), target :: x64(5, n)
  character(len=1024) :: model_file
  character(len=32) :: device
  integer :: ierr, i, j, k, nthreads, unit

  call get_command_argument(1, dir)

  ! ---- real64, two named inputs, dict outputs (in dict order) --------------------------
  do j = 1, n
    do i = 1, 4
      forcing(i, j) = 0.1d0*i + 0.01d0*j
    end do
    do i = 1, 3
      pools(i, j) = 100d0*i + j
    end do
  end do
  call elmai_model_load(two, trim(dir)//'/two_inputs_dict.pt', ierr)
  call expect_ok('load two_inputs_dict')
  call elmai_tensor_from_array(t_in(1), forcing, ierr)
  call elmai_tensor_from_array(t_in(2), pools, ierr)
  call elmai_tensor_from_array(t_out(1), pools_eq, ierr)
  call elmai_tensor_from_array(t_out(2), flux, ierr)
  call elmai_model_forward(two, t_in, t_out, ierr)
  call expect_ok('forward two_inputs_dict')
  print '(a,*(es24.16))', 'pools_eq ', pools_eq
  print '(a,*(es24.16))', 'flux ', flux

  ! ---- identity layout: a strided view that keeps Fortran indexing ---------------------
  do k = 1, 4
    do j = 1, 3
      do i = 1, 2
        z(i, j, k) = real(i + 10*j + 100*k, real32)
      end do
    end do
  end do
  call elmai_model_load(idx, trim(dir)//'/index_weighted.pt', ierr)
  call elmai_tensor_from_array(t1(1), z, ierr, layout=[1, 2, 3])  ! model sees [2, 3, 4]
  call expect_ok('tensor with layout')
  call elmai_tensor_from_array(t2(1), w, ierr, layout=[1, 2, 3])
  call elmai_model_forward(idx, t1, t2, ierr)
  call expect_ok('forward index_weighted')
  print '(a,*(f14.1))', 'identity_layout ', w
  call elmai_tensor_free(t1(1))
  call elmai_tensor_free(t2(1))
  call elmai_tensor_from_array(t1(1), z, ierr)  ! default: model sees [4, 3, 2]
  call elmai_tensor_from_array(t2(1), w, ierr)
  call elmai_model_forward(idx, t1, t2, ierr)
  call expect_ok('forward index_weighted default layout')
  print '(a,*(f14.1))', 'default_layout ', w
  call elmai_tensor_free(t1(1))
  call elmai_tensor_free(t2(1))

  ! ---- threads -------------------------------------------------------------------------
  call elmai_set_num_threads(2, ierr)
  call elmai_get_num_threads(nthreads, ierr)
  print '(a,i0)', 'threads ', nthreads
  call elmai_set_num_threads(1, ierr)

  ! ---- namelist ------------------------------------------------------------------------
  open (newunit=unit, file=trim(dir)//'/lnd_in', status='replace', action='write')
  write (unit, '(a)') '&elm_inparm'
  write (unit, '(a)') ' fsurdat = ''surf.nc'''
  write (unit, '(a)') '/'
  write (unit, '(a)') '&elmai_inparm'
  write (unit, '(a)') ' elmai_model_file = ''/models/spinup.pt'''
  write (unit, '(a)') ' elmai_threads = 4'
  write (unit, '(a)') '/'
  close (unit)
  call elmai_read_inparm(trim(dir)//'/lnd_in', model_file, device, nthreads, ierr)
  print '(a,i0,1x,a,1x,a,1x,i0)', 'inparm ', ierr, trim(model_file), trim(device), nthreads
  call elmai_read_inparm(trim(dir)//'/no_such_lnd_in', model_file, device, nthreads, ierr)
  print '(a,i0)', 'inparm_missing_file ', ierr

  ! ---- error paths: each returns a status and a message, nothing stops -----------------
  call elmai_model_load(bad, trim(dir)//'/missing.pt', ierr)
  call report('missing_file')
  open (newunit=unit, file=trim(dir)//'/junk.pt', status='replace', action='write')
  write (unit, '(a)') 'not a model'
  close (unit)
  call elmai_model_load(bad, trim(dir)//'/junk.pt', ierr)
  call report('not_a_model')
  call elmai_model_load(bad, trim(dir)//'/cell_mlp.pt', ierr, device='cuda')
  call report('no_cuda')
  call elmai_model_load(bad, trim(dir)//'/cell_mlp.pt', ierr, device='tpu')
  call report('bad_device')

  call elmai_model_load(mlp, trim(dir)//'/cell_mlp.pt', ierr, nthreads=1)
  call expect_ok('load cell_mlp')
  x32 = 0.5
  x64 = 0.5d0
  call elmai_tensor_from_array(t1(1), x32, ierr)
  call elmai_tensor_from_array(t2(1), y32, ierr)
  call elmai_model_forward(mlp, t1, t2, ierr)
  call expect_ok('forward cell_mlp')
  call elmai_model_forward(mlp, t_in, t2, ierr)
  call report('too_many_inputs')
  call elmai_model_forward(mlp, none, t2, ierr)
  call report('no_inputs')
  call elmai_model_forward(mlp, t1, t_out, ierr)
  call report('too_many_outputs')
  call elmai_tensor_free(t2(1))
  call elmai_tensor_from_array(t2(1), y_bad, ierr)
  call elmai_model_forward(mlp, t1, t2, ierr)
  call report('wrong_output_shape')
  call elmai_tensor_free(t1(1))
  call elmai_tensor_free(t2(1))
  call elmai_tensor_from_array(t1(1), x64, ierr)
  call elmai_tensor_from_array(t2(1), y32, ierr)
  call elmai_model_forward(mlp, t1, t2, ierr)
  call report('wrong_input_dtype')
  call elmai_tensor_free(t1(1))
  call elmai_tensor_from_array(t1(1), wrong, ierr)
  call elmai_model_forward(mlp, t1, t2, ierr)
  call report('wrong_input_shape')
  call elmai_tensor_free(t1(1))
  call elmai_model_forward(mlp, t1, t2, ierr)
  call report('freed_tensor')
  call elmai_tensor_from_array(t1(1), z, ierr, layout=[1, 1, 2])
  call report('layout_not_permutation')
  call elmai_tensor_from_array(t1(1), z, ierr, layout=[1, 2])
  call report('layout_wrong_length')
  call elmai_set_num_threads(0, ierr)
  call report('zero_threads')
  call elmai_model_forward(bad, t1, t2, ierr)
  call report('model_not_loaded')

  ! after all that, the models still work
  call elmai_tensor_free(t2(1))
  call elmai_tensor_from_array(t1(1), x32, ierr)
  call elmai_tensor_from_array(t2(1), y32, ierr)
  call elmai_model_forward(mlp, t1, t2, ierr)
  call expect_ok('forward after errors')
  print '(a,*(es16.8))', 'mlp_after_errors ', y32(:, 1)

  call elmai_tensor_free(t1(1))
  call elmai_tensor_free(t2(1))
  do i = 1, 2
    call elmai_tensor_free(t_in(i))
    call elmai_tensor_free(t_out(i))
  end do
  call elmai_model_free(mlp)
  call elmai_model_free(two)
  call elmai_model_free(idx)
  call elmai_model_free(bad)
  print '(a)', 'done'

contains

  subroutine expect_ok(what)
    character(len=*), intent(in) :: what
    if (ierr /= ELMAI_OK) then
      print '(a)', 'unexpected failure in '//what//': '//elmai_last_error()
      stop 1
    end if
  end subroutine expect_ok

  subroutine report(name)
    character(len=*), intent(in) :: name
    print '(a,1x,a,1x,i0,1x,a)', 'error', name, ierr, elmai_last_error()
  end subroutine report

end program model_api
