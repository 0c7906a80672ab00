!> Fortran face of elmai (module elmai), called from ELM through ISO_C_BINDING.
!>
!> Rules: handles are opaque derived types; every routine ends with an integer status
!> `ierr` (ELMAI_OK = 0); on failure `elmai_last_error()` returns the message. Nothing
!> here stops or aborts the host model. Arrays are passed without copies: C order of a
!> restart variable (column, levgrnd) is Fortran order (levgrnd, column).
module elmai
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_char, c_int, c_int64_t, c_double, &
                                         c_null_char, c_loc, c_f_pointer, c_associated, c_size_t
  implicit none
  private

  integer, parameter, public :: ELMAI_OK = 0, ELMAI_ERR_FILE = 1, ELMAI_ERR_FORMAT = 2, &
                                ELMAI_ERR_VARIABLE = 3, ELMAI_ERR_SHAPE = 4, ELMAI_ERR_DTYPE = 5, &
                                ELMAI_ERR_VALUE = 6, ELMAI_ERR_ARGUMENT = 7, ELMAI_ERR_INTERNAL = 99

  !> An open ELM restart file (read-only).
  type, public :: elmai_restart
    type(c_ptr) :: handle = c_null_ptr
  end type elmai_restart

  public :: elmai_last_error, elmai_version
  public :: elmai_restart_open, elmai_restart_close, elmai_restart_var_shape, elmai_restart_read

  !> Read a variable into a real64 array of rank 0-3 (shape reversed from the file's).
  interface elmai_restart_read
    module procedure restart_read_0d, restart_read_1d, restart_read_2d, restart_read_3d
  end interface elmai_restart_read

  interface
    function c_last_error() bind(C, name="elmai_last_error") result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function c_last_error
    function c_version() bind(C, name="elmai_version") result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function c_version
    function c_strlen(p) bind(C, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: p
      integer(c_size_t) :: n
    end function c_strlen
    function c_restart_open(path, out) bind(C, name="elmai_restart_open") result(ierr)
      import :: c_char, c_ptr, c_int
      character(kind=c_char), dimension(*), intent(in) :: path
      type(c_ptr), intent(out) :: out
      integer(c_int) :: ierr
    end function c_restart_open
    function c_restart_close(file) bind(C, name="elmai_restart_close") result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: file
      integer(c_int) :: ierr
    end function c_restart_close
    function c_restart_var_shape(file, name, ndims, shape, maxdims) bind(C, name="elmai_restart_var_shape") &
        result(ierr)
      import :: c_ptr, c_char, c_int, c_int64_t
      type(c_ptr), value :: file
      character(kind=c_char), dimension(*), intent(in) :: name
      integer(c_int), intent(out) :: ndims
      integer(c_int64_t), intent(out) :: shape(*)
      integer(c_int), value :: maxdims
      integer(c_int) :: ierr
    end function c_restart_var_shape
    function c_restart_read_double(file, name, out, ndims, shape) bind(C, name="elmai_restart_read_double") &
        result(ierr)
      import :: c_ptr, c_char, c_int, c_int64_t
      type(c_ptr), value :: file
      character(kind=c_char), dimension(*), intent(in) :: name
      type(c_ptr), value :: out
      integer(c_int), value :: ndims
      integer(c_int64_t), intent(in) :: shape(*)
      integer(c_int) :: ierr
    end function c_restart_read_double
  end interface

contains

  function c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, i
    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate (character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function c_string

  !> Message of the last failed call on this thread ('' after a success).
  function elmai_last_error() result(msg)
    character(len=:), allocatable :: msg
    msg = c_string(c_last_error())
  end function elmai_last_error

  function elmai_version() result(v)
    character(len=:), allocatable :: v
    v = c_string(c_version())
  end function elmai_version

  subroutine elmai_restart_open(file, path, ierr)
    type(elmai_restart), intent(inout) :: file
    character(len=*), intent(in) :: path
    integer, intent(out) :: ierr
    ierr = int(c_restart_open(trim(path)//c_null_char, file%handle))
  end subroutine elmai_restart_open

  subroutine elmai_restart_close(file, ierr)
    type(elmai_restart), intent(inout) :: file
    integer, intent(out) :: ierr
    ierr = int(c_restart_close(file%handle))
    file%handle = c_null_ptr
  end subroutine elmai_restart_close

  !> Shape of a variable in Fortran order (reversed from the file's C order).
  subroutine elmai_restart_var_shape(file, name, ndims, shape, ierr)
    type(elmai_restart), intent(in) :: file
    character(len=*), intent(in) :: name
    integer, intent(out) :: ndims
    integer(c_int64_t), intent(out) :: shape(:)
    integer, intent(out) :: ierr
    integer(c_int64_t) :: cshape(16)
    integer(c_int) :: nd
    ierr = int(c_restart_var_shape(file%handle, trim(name)//c_null_char, nd, cshape, 16_c_int))
    ndims = int(nd)
    if (ierr /= ELMAI_OK) return
    if (ndims > size(shape)) then
      ierr = ELMAI_ERR_SHAPE
      return
    end if
    shape(1:ndims) = cshape(ndims:1:-1)
  end subroutine elmai_restart_var_shape

  subroutine read_into(file, name, p, fshape, ierr)
    type(elmai_restart), intent(in) :: file
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: p
    integer(c_int64_t), intent(in) :: fshape(:)
    integer, intent(out) :: ierr
    integer(c_int64_t) :: cshape(max(1, size(fshape)))
    integer :: n
    n = size(fshape)
    if (n > 0) cshape(1:n) = fshape(n:1:-1)
    ierr = int(c_restart_read_double(file%handle, trim(name)//c_null_char, p, int(n, c_int), cshape))
  end subroutine read_into

  subroutine restart_read_0d(file, name, value, ierr)
    type(elmai_restart), intent(in) :: file
    character(len=*), intent(in) :: name
    real(c_double), intent(out), target :: value
    integer, intent(out) :: ierr
    integer(c_int64_t) :: none(0)
    call read_into(file, name, c_loc(value), none, ierr)
  end subroutine restart_read_0d

  subroutine restart_read_1d(file, name, array, ierr)
    type(elmai_restart), intent(in) :: file
    character(len=*), intent(in) :: name
    real(c_double), intent(inout), target, contiguous :: array(:)
    integer, intent(out) :: ierr
    call read_into(file, name, c_loc(array), int(shape(array), c_int64_t), ierr)
  end subroutine restart_read_1d

  subroutine restart_read_2d(file, name, array, ierr)
    type(elmai_restart), intent(in) :: file
    character(len=*), intent(in) :: name
    real(c_double), intent(inout), target, contiguous :: array(:, :)
    integer, intent(out) :: ierr
    call read_into(file, name, c_loc(array), int(shape(array), c_int64_t), ierr)
  end subroutine restart_read_2d

  subroutine restart_read_3d(file, name, array, ierr)
    type(elmai_restart), intent(in) :: file
    character(len=*), intent(in) :: name
    real(c_double), intent(inout), target, contiguous :: array(:, :, :)
    integer, intent(out) :: ierr
    call read_into(file, name, c_loc(array), int(shape(array), c_int64_t), ierr)
  end subroutine restart_read_3d

end module elmai
