!> Example 04: forward a torch.export / AOTInductor package (.pt2) from Fortran.
!>
!> The calls are those of example 01: elmai_model_load picks the backend from the file,
!> so a host switches from TorchScript to .pt2 by changing the file name. This model
!> takes two real64 inputs and returns a dict {pools_eq, flux}: outputs are passed in
!> the dict's order. A .pt2 package is compiled for one dtype and fixed non-batch
!> dimensions; anything else is an error status with a message, never a crash.
!>
!> Usage: forward_pt2 MODEL.pt2 OUT.txt [NTHREADS]
program forward_pt2
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use elmai
  implicit none
  integer, parameter :: nforcing = 4, npools = 3, ncells = 500
  real(real64), target :: forcing(nforcing, ncells), pools(npools, ncells)
  real(real64), target :: pools_eq(npools, ncells), flux(1, ncells)
  real(real32), target :: wrong_dtype(nforcing, ncells)
  real(real64), target :: wrong_shape(nforcing + 1, ncells)
  type(elmai_model) :: model
  type(elmai_tensor) :: inputs(2), outputs(2), bad(2)
  character(len=1024) :: model_path, out_path, arg
  integer :: ierr, k, c, nthreads, unit

  call get_command_argument(1, model_path)
  call get_command_argument(2, out_path)
  nthreads = 1
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    read (arg, *) nthreads
  end if

  do c = 1, ncells
    do k = 1, nforcing
      forcing(k, c) = cos(0.3_real64*k + 0.01_real64*c)
    end do
    do k = 1, npools
      pools(k, c) = real(mod(k*c, 5), real64)
    end do
  end do

  call elmai_model_load(model, model_path, ierr, nthreads=nthreads)   ! .pt2: the AOTInductor backend
  call check('load')
  call elmai_tensor_from_array(inputs(1), forcing, ierr)    ! [ncells, 4]
  call elmai_tensor_from_array(inputs(2), pools, ierr)      ! [ncells, 3]
  call elmai_tensor_from_array(outputs(1), pools_eq, ierr)  ! [ncells, 3]
  call elmai_tensor_from_array(outputs(2), flux, ierr)      ! [ncells, 1]
  call check('tensors')
  call elmai_model_forward(model, inputs, outputs, ierr)
  call check('forward')

  open (newunit=unit, file=out_path, status='replace', action='write')
  do c = 1, ncells
    write (unit, '(4es25.16)') pools_eq(:, c), flux(1, c)
  end do
  close (unit)
  print '(a,i0,a,i0,a)', 'forwarded ', ncells, ' cells with ', nthreads, ' thread(s)'

  ! Misuse is reported, not fatal: a real32 array where the package takes real64 ...
  call elmai_tensor_from_array(bad(1), wrong_dtype, ierr)
  bad(2) = inputs(2)
  call elmai_model_forward(model, bad, outputs, ierr)
  print '(a,i0,1x,a)', 'wrong_dtype ', ierr, elmai_last_error()
  ! ... and 5 features where it was exported with 4.
  call elmai_tensor_from_array(bad(1), wrong_shape, ierr)
  call elmai_model_forward(model, bad, outputs, ierr)
  print '(a,i0,1x,a)', 'wrong_shape ', ierr, elmai_last_error()
  ! The model still works afterwards.
  call elmai_model_forward(model, inputs, outputs, ierr)
  call check('forward after errors')
  call elmai_tensor_free(bad(1))
  call elmai_tensor_free(bad(2))   ! releases this copy's reference; inputs(2) stays valid
  call elmai_tensor_free(inputs(1))
  call elmai_tensor_free(inputs(2))
  call elmai_tensor_free(outputs(1))
  call elmai_tensor_free(outputs(2))
  call elmai_model_free(model)
  print '(a)', 'done'

contains

  subroutine check(what)
    character(len=*), intent(in) :: what
    if (ierr /= ELMAI_OK) then
      print '(a)', 'elmai '//what//' failed: '//elmai_last_error()
      stop 1
    end if
  end subroutine check

end program forward_pt2
