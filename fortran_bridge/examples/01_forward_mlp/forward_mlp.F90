!> Example 01: load a TorchScript model once and forward an ELM-shaped array.
!>
!> ELM keeps per-cell data as (nfeatures, ncells) Fortran arrays. elmai hands such an
!> array to the model as [ncells, nfeatures] without copying it (the default layout
!> reverses the dimensions), and writes the model's [ncells, noutputs] result straight
!> into a (noutputs, ncells) Fortran array.
!>
!> Usage: forward_mlp MODEL.pt OUT.txt [NTHREADS]
program forward_mlp
  use, intrinsic :: iso_fortran_env, only: real32
  use elmai
  implicit none
  integer, parameter :: nfeatures = 5, noutputs = 3, ncells = 1000
  real(real32), target :: x(nfeatures, ncells), y(noutputs, ncells)
  type(elmai_model) :: model
  type(elmai_tensor) :: inputs(1), outputs(1)
  character(len=1024) :: model_path, out_path, arg
  integer :: ierr, f, c, nthreads, unit

  call get_command_argument(1, model_path)
  call get_command_argument(2, out_path)
  nthreads = 1
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    read (arg, *) nthreads
  end if

  do c = 1, ncells
    do f = 1, nfeatures
      x(f, c) = sin(0.37*real(f, real32) + 0.011*real(c, real32))
    end do
  end do

  call elmai_model_load(model, model_path, ierr, device='cpu', nthreads=nthreads)
  call check('load')
  call elmai_tensor_from_array(inputs(1), x, ierr)   ! [ncells, nfeatures], no copy
  call check('input tensor')
  call elmai_tensor_from_array(outputs(1), y, ierr)  ! [ncells, noutputs], no copy
  call check('output tensor')
  call elmai_model_forward(model, inputs, outputs, ierr)
  call check('forward')

  open (newunit=unit, file=out_path, status='replace', action='write')
  do c = 1, ncells
    write (unit, '(3es16.8)') y(:, c)
  end do
  close (unit)
  print '(a,i0,a,i0,a)', 'forwarded ', ncells, ' cells with ', nthreads, ' thread(s)'
  print '(a,3f12.6)', 'cell 1 outputs: ', y(:, 1)

  call elmai_tensor_free(inputs(1))
  call elmai_tensor_free(outputs(1))
  call elmai_model_free(model)

contains

  subroutine check(what)
    character(len=*), intent(in) :: what
    if (ierr /= ELMAI_OK) then
      ! A host model would log and carry on without the AI step; the example stops.
      print '(a)', 'elmai '//what//' failed: '//elmai_last_error()
      stop 1
    end if
  end subroutine check

end program forward_mlp
