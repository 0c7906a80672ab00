!> Fortran face of elmai (module elmai), called from ELM through ISO_C_BINDING.
!>
!> Rules: handles are opaque derived types; every routine ends with an integer status
!> `ierr` (ELMAI_OK = 0); on failure `elmai_last_error()` returns the message. Nothing
!> here stops or aborts the host model. Arrays are passed without copies: C order of a
!> restart variable (column, levgrnd) is Fortran order (levgrnd, column).
!>
!> Handles (elmai_restart, elmai_model, elmai_tensor) are released automatically when
!> they go out of scope (final procedures), so a handle local to a subroutine does not
!> leak. They are reference counted: `b = a` shares the object (both stay valid; it goes
!> with the last one released), and the explicit elmai_*_free / elmai_restart_close
!> release this handle's reference now. Opening, loading or wrapping into a handle that
!> already holds an object releases that object first.
module elmai
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_char, c_int, c_int64_t, c_double, c_float, &
                                         c_null_char, c_loc, c_f_pointer, c_associated, c_size_t
  implicit none
  private

  integer, parameter, public :: ELMAI_OK = 0, ELMAI_ERR_FILE = 1, ELMAI_ERR_FORMAT = 2, &
                                ELMAI_ERR_VARIABLE = 3, ELMAI_ERR_SHAPE = 4, ELMAI_ERR_DTYPE = 5, &
                                ELMAI_ERR_VALUE = 6, ELMAI_ERR_ARGUMENT = 7, ELMAI_ERR_INTERNAL = 99

  !> An open ELM restart file (read-only).
  type, public :: elmai_restart
    type(c_ptr) :: handle = c_null_ptr
  contains
    final :: restart_final
    procedure, private :: restart_assign
    generic :: assignment(=) => restart_assign
  end type elmai_restart

  integer, parameter, public :: ELMAI_FLOAT32 = 0, ELMAI_FLOAT64 = 1

  !> A loaded model: TorchScript (.pt) or torch.export/AOTInductor (.pt2), chosen from
  !> the file. Load once, forward many times.
  type, public :: elmai_model
    type(c_ptr) :: handle = c_null_ptr
  contains
    final :: model_final
    procedure, private :: model_assign
    generic :: assignment(=) => model_assign
  end type elmai_model

  !> A zero-copy view of a Fortran array, as a model input or output. The array must
  !> outlive the tensor and carry the TARGET attribute in the caller (it is read and,
  !> for outputs, written through the view during elmai_model_forward).
  type, public :: elmai_tensor
    type(c_ptr) :: handle = c_null_ptr
  contains
    final :: tensor_final
    procedure, private :: tensor_assign
    generic :: assignment(=) => tensor_assign
  end type elmai_tensor

  public :: elmai_last_error, elmai_version
  public :: elmai_restart_open, elmai_restart_close, elmai_restart_var_shape, elmai_restart_read
  public :: elmai_model_load, elmai_model_free, elmai_model_forward
  public :: elmai_tensor_from_array, elmai_tensor_free, elmai_set_num_threads, elmai_get_num_threads
  public :: elmai_read_inparm
  public :: elmai_balance_check_columns
  public :: elmai_live_handles

  real(c_double), parameter, public :: ELMAI_BGC_TOLERANCE = 1.0e-7_c_double   ! g/m2 per step
  real(c_double), parameter, public :: ELMAI_WATER_WARN = 1.0e-7_c_double, ELMAI_WATER_FAIL = 1.0e-4_c_double

  !> Wrap a real32 or real64 array of rank 1-4 as a tensor (no copy). Default layout:
  !> Fortran dimensions reversed, so (nfeatures, ncells) is the model's [ncells, nfeatures].
  interface elmai_tensor_from_array
    module procedure tensor_from_real32, tensor_from_real64
  end interface elmai_tensor_from_array

  !> Read a variable into a real64 array of rank 0-3 (shape reversed from the file's).
  interface elmai_restart_read
    module procedure restart_read_0d, restart_read_1d, restart_read_2d, restart_read_3d
  end interface elmai_restart_read

  interface
    function c_last_error() bind(C, name="elmai_last_error") result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function c_last_error
    function c_report_error(status, message) bind(C, name="elmai_report_error") result(ierr)
      import :: c_int, c_char
      integer(c_int), value :: status
      character(kind=c_char), dimension(*), intent(in) :: message
      integer(c_int) :: ierr
    end function c_report_error
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
    function c_model_load(path, device, nthreads, out) bind(C, name="elmai_model_load") result(ierr)
      import :: c_char, c_int, c_ptr
      character(kind=c_char), dimension(*), intent(in) :: path, device
      integer(c_int), value :: nthreads
      type(c_ptr), intent(out) :: out
      integer(c_int) :: ierr
    end function c_model_load
    function c_model_free(model) bind(C, name="elmai_model_free") result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: model
      integer(c_int) :: ierr
    end function c_model_free
    function c_model_forward(model, inputs, ninputs, outputs, noutputs) bind(C, name="elmai_model_forward") &
        result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: model
      type(c_ptr), intent(in) :: inputs(*), outputs(*)
      integer(c_int), value :: ninputs, noutputs
      integer(c_int) :: ierr
    end function c_model_forward
    function c_tensor_from_fortran(data, dtype, ndims, fshape, layout, nlayout, out) &
        bind(C, name="elmai_tensor_from_fortran") result(ierr)
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: data
      integer(c_int), value :: dtype, ndims, nlayout
      integer(c_int64_t), intent(in) :: fshape(*)
      type(c_ptr), value :: layout
      type(c_ptr), intent(out) :: out
      integer(c_int) :: ierr
    end function c_tensor_from_fortran
    function c_tensor_free(tensor) bind(C, name="elmai_tensor_free") result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: tensor
      integer(c_int) :: ierr
    end function c_tensor_free
    function c_restart_retain(file) bind(C, name="elmai_restart_retain") result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: file
      integer(c_int) :: ierr
    end function c_restart_retain
    function c_model_retain(model) bind(C, name="elmai_model_retain") result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: model
      integer(c_int) :: ierr
    end function c_model_retain
    function c_tensor_retain(tensor) bind(C, name="elmai_tensor_retain") result(ierr)
      import :: c_ptr, c_int
      type(c_ptr), value :: tensor
      integer(c_int) :: ierr
    end function c_tensor_retain
    function c_live_handles(restarts, models, tensors) bind(C, name="elmai_live_handles") result(ierr)
      import :: c_int, c_int64_t
      integer(c_int64_t), intent(out) :: restarts, models, tensors
      integer(c_int) :: ierr
    end function c_live_handles
    function c_set_num_threads(n) bind(C, name="elmai_set_num_threads") result(ierr)
      import :: c_int
      integer(c_int), value :: n
      integer(c_int) :: ierr
    end function c_set_num_threads
    function c_get_num_threads(n) bind(C, name="elmai_get_num_threads") result(ierr)
      import :: c_int
      integer(c_int), intent(out) :: n
      integer(c_int) :: ierr
    end function c_get_num_threads
    function c_balance_check(ncol, begin, end, nin, inputs, nout, outputs, dt, fail_tol, warn_tol, nfail, nwarn, &
                             max_abs, failing, capacity) bind(C, name="elmai_balance_check_columns") result(ierr)
      import :: c_int, c_int64_t, c_double, c_ptr
      integer(c_int64_t), value :: ncol, capacity
      type(c_ptr), value :: begin, end, inputs, outputs, failing
      integer(c_int), value :: nin, nout
      real(c_double), value :: dt, fail_tol, warn_tol
      integer(c_int64_t), intent(out) :: nfail, nwarn
      real(c_double), intent(out) :: max_abs
      integer(c_int) :: ierr
    end function c_balance_check
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
    call restart_final(file)  ! a handle reused for another file releases the old one
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

  ! ---- models -------------------------------------------------------------------------

  !> Load a model file once. device: 'cpu' (default), 'cuda', 'cuda:N'; nthreads > 0 sets
  !> the intra-op thread count (process-wide; each ELM MPI rank is its own process).
  subroutine elmai_model_load(model, path, ierr, device, nthreads)
    type(elmai_model), intent(inout) :: model
    character(len=*), intent(in) :: path
    integer, intent(out) :: ierr
    character(len=*), intent(in), optional :: device
    integer, intent(in), optional :: nthreads
    character(len=:), allocatable :: dev
    integer(c_int) :: nt
    dev = 'cpu'
    if (present(device)) dev = trim(device)
    nt = 0
    if (present(nthreads)) nt = int(nthreads, c_int)
    call model_final(model)  ! a handle reused for another model releases the old one
    ierr = int(c_model_load(trim(path)//c_null_char, dev//c_null_char, nt, model%handle))
  end subroutine elmai_model_load

  subroutine elmai_model_free(model, ierr)
    type(elmai_model), intent(inout) :: model
    integer, intent(out), optional :: ierr
    integer :: status
    status = int(c_model_free(model%handle))
    model%handle = c_null_ptr
    if (present(ierr)) ierr = status
  end subroutine elmai_model_free

  !> Run the model on the input tensors and write its results into the output tensors
  !> (shapes must match the model's outputs; real32/real64 are converted as needed).
  subroutine elmai_model_forward(model, inputs, outputs, ierr)
    type(elmai_model), intent(in) :: model
    type(elmai_tensor), intent(in) :: inputs(:), outputs(:)
    integer, intent(out) :: ierr
    type(c_ptr) :: in_ptrs(size(inputs)), out_ptrs(size(outputs))
    integer :: i
    do i = 1, size(inputs)
      in_ptrs(i) = inputs(i)%handle
    end do
    do i = 1, size(outputs)
      out_ptrs(i) = outputs(i)%handle
    end do
    ierr = int(c_model_forward(model%handle, in_ptrs, int(size(inputs), c_int), out_ptrs, &
                               int(size(outputs), c_int)))
  end subroutine elmai_model_forward

  subroutine tensor_from_address(tensor, p, dtype, fshape, ierr, layout)
    type(elmai_tensor), intent(inout) :: tensor
    type(c_ptr), intent(in) :: p
    integer(c_int), intent(in) :: dtype
    integer(c_int64_t), intent(in) :: fshape(:)
    integer, intent(out) :: ierr
    integer, intent(in), optional :: layout(:)
    integer(c_int), allocatable, target :: clayout(:)
    type(c_ptr) :: lp
    integer(c_int) :: nlayout
    lp = c_null_ptr
    nlayout = 0
    if (present(layout)) then
      clayout = int(layout, c_int)
      nlayout = int(size(layout), c_int)
      if (nlayout > 0) lp = c_loc(clayout)
    end if
    call tensor_final(tensor)  ! re-wrapping into a handle releases the old view
    ierr = int(c_tensor_from_fortran(p, dtype, int(size(fshape), c_int), fshape, lp, nlayout, tensor%handle))
  end subroutine tensor_from_address

  subroutine tensor_from_real32(tensor, array, ierr, layout)
    type(elmai_tensor), intent(inout) :: tensor
    real(c_float), intent(in), target, contiguous :: array(..)
    integer, intent(out) :: ierr
    integer, intent(in), optional :: layout(:)
    call tensor_from_address(tensor, c_loc(array), int(ELMAI_FLOAT32, c_int), int(shape(array), c_int64_t), &
                             ierr, layout)
  end subroutine tensor_from_real32

  subroutine tensor_from_real64(tensor, array, ierr, layout)
    type(elmai_tensor), intent(inout) :: tensor
    real(c_double), intent(in), target, contiguous :: array(..)
    integer, intent(out) :: ierr
    integer, intent(in), optional :: layout(:)
    call tensor_from_address(tensor, c_loc(array), int(ELMAI_FLOAT64, c_int), int(shape(array), c_int64_t), &
                             ierr, layout)
  end subroutine tensor_from_real64

  subroutine elmai_tensor_free(tensor, ierr)
    type(elmai_tensor), intent(inout) :: tensor
    integer, intent(out), optional :: ierr
    integer :: status
    status = int(c_tensor_free(tensor%handle))
    tensor%handle = c_null_ptr
    if (present(ierr)) ierr = status
  end subroutine elmai_tensor_free

  subroutine elmai_set_num_threads(nthreads, ierr)
    integer, intent(in) :: nthreads
    integer, intent(out) :: ierr
    ierr = int(c_set_num_threads(int(nthreads, c_int)))
  end subroutine elmai_set_num_threads

  subroutine elmai_get_num_threads(nthreads, ierr)
    integer, intent(out) :: nthreads
    integer, intent(out) :: ierr
    integer(c_int) :: n
    ierr = int(c_get_num_threads(n))
    nthreads = int(n)
  end subroutine elmai_get_num_threads

  !> Read the &elmai_inparm namelist group from an ELM namelist file (lnd_in):
  !>   &elmai_inparm  elmai_model_file = 'spinup.pt', elmai_device = 'cpu', elmai_threads = 1 /
  !> ierr = ELMAI_OK when read; ELMAI_ERR_VARIABLE when the group is absent (defaults kept:
  !> no model file, 'cpu', 1 thread); ELMAI_ERR_FILE / ELMAI_ERR_FORMAT when the file cannot
  !> be opened or the group cannot be parsed.
  subroutine elmai_read_inparm(nlfile, model_file, device, nthreads, ierr)
    character(len=*), intent(in) :: nlfile
    character(len=*), intent(out) :: model_file, device
    integer, intent(out) :: nthreads, ierr
    character(len=1024) :: elmai_model_file
    character(len=32) :: elmai_device
    integer :: elmai_threads, unit, ios
    namelist /elmai_inparm/ elmai_model_file, elmai_device, elmai_threads
    elmai_model_file = ' '
    elmai_device = 'cpu'
    elmai_threads = 1
    open (newunit=unit, file=nlfile, status='old', action='read', iostat=ios)
    if (ios /= 0) then
      ierr = ELMAI_ERR_FILE
    else
      read (unit, nml=elmai_inparm, iostat=ios)
      close (unit)
      if (ios == 0) then
        ierr = ELMAI_OK
      else if (ios < 0) then
        ierr = ELMAI_ERR_VARIABLE
      else
        ierr = ELMAI_ERR_FORMAT
      end if
    end if
    model_file = elmai_model_file
    device = elmai_device
    nthreads = elmai_threads
  end subroutine elmai_read_inparm

  ! ---- balance check ---------------------------------------------------------------------

  !> ELM's per-column balance check on the caller's arrays (no copies):
  !>   err = (sum(inputs(c,:)) - sum(outputs(c,:))) * dt - (end(c) - begin(c))
  !> inputs(ncol, nin) and outputs(ncol, nout) hold one flux term per column of the
  !> array (per second); stocks per m2. nfail counts columns with |err| > tolerance
  !> (default ELMAI_BGC_TOLERANCE); nwarn those above warn_tolerance only (default: the
  !> tolerance). failing_columns receives the first failing positions, 1-based within the
  !> arrays (add begc-1 for ELM's column index). ierr reports misuse, not imbalance.
  subroutine elmai_balance_check_columns(begin, end, inputs, outputs, dt, nfail, ierr, tolerance, warn_tolerance, &
                                         nwarn, max_error, failing_columns)
    real(c_double), intent(in), target, contiguous :: begin(:), end(:), inputs(:, :), outputs(:, :)
    real(c_double), intent(in) :: dt
    integer, intent(out) :: nfail, ierr
    real(c_double), intent(in), optional :: tolerance, warn_tolerance
    integer, intent(out), optional :: nwarn
    real(c_double), intent(out), optional :: max_error
    integer, intent(out), optional :: failing_columns(:)
    integer(c_int64_t), allocatable, target :: failing(:)
    integer(c_int64_t) :: nf, nw, ncol, nkeep
    real(c_double) :: fail_tol, warn_tol, max_abs
    type(c_ptr) :: fp
    ncol = size(begin, kind=c_int64_t)
    nfail = 0
    if (size(end) /= ncol .or. (size(inputs) > 0 .and. size(inputs, 1) /= ncol) .or. &
        (size(outputs) > 0 .and. size(outputs, 1) /= ncol)) then
      ! caught here: the C side cannot see Fortran extents
      ierr = int(c_report_error(int(ELMAI_ERR_SHAPE, c_int), 'elmai_balance_check_columns: begin, end, inputs(:,k) '// &
                                'and outputs(:,k) must all have the same number of columns'//c_null_char))
      return
    end if
    fail_tol = ELMAI_BGC_TOLERANCE
    if (present(tolerance)) fail_tol = tolerance
    warn_tol = fail_tol
    if (present(warn_tolerance)) warn_tol = warn_tolerance
    nkeep = 0
    if (present(failing_columns)) nkeep = size(failing_columns, kind=c_int64_t)
    allocate (failing(max(1_c_int64_t, nkeep)))
    fp = c_null_ptr
    if (nkeep > 0) fp = c_loc(failing)
    ierr = int(c_balance_check(ncol, c_loc(begin), c_loc(end), int(size(inputs, 2), c_int), c_loc(inputs), &
                               int(size(outputs, 2), c_int), c_loc(outputs), dt, fail_tol, warn_tol, nf, nw, &
                               max_abs, fp, nkeep))
    if (ierr /= ELMAI_OK) return
    nfail = int(nf)
    if (present(nwarn)) nwarn = int(nw)
    if (present(max_error)) max_error = max_abs
    if (present(failing_columns)) then
      failing_columns = 0
      failing_columns(1:min(nkeep, nf)) = int(failing(1:min(nkeep, nf))) + 1
    end if
  end subroutine elmai_balance_check_columns

  ! ---- handle life cycle ------------------------------------------------------------------

  !> Objects alive now in the library (not yet released by their last handle).
  subroutine elmai_live_handles(restarts, models, tensors, ierr)
    integer, intent(out) :: restarts, models, tensors, ierr
    integer(c_int64_t) :: r, m, t
    ierr = int(c_live_handles(r, m, t))
    restarts = int(r)
    models = int(m)
    tensors = int(t)
  end subroutine elmai_live_handles

  impure elemental subroutine restart_final(file)
    type(elmai_restart), intent(inout) :: file
    integer(c_int) :: status
    if (c_associated(file%handle)) status = c_restart_close(file%handle)
    file%handle = c_null_ptr
  end subroutine restart_final

  impure elemental subroutine restart_assign(lhs, rhs)
    class(elmai_restart), intent(inout) :: lhs
    type(elmai_restart), intent(in) :: rhs
    integer(c_int) :: status
    if (c_associated(rhs%handle)) status = c_restart_retain(rhs%handle)  ! before release: a = a is safe
    if (c_associated(lhs%handle)) status = c_restart_close(lhs%handle)
    lhs%handle = rhs%handle
  end subroutine restart_assign

  impure elemental subroutine model_final(model)
    type(elmai_model), intent(inout) :: model
    integer(c_int) :: status
    if (c_associated(model%handle)) status = c_model_free(model%handle)
    model%handle = c_null_ptr
  end subroutine model_final

  impure elemental subroutine model_assign(lhs, rhs)
    class(elmai_model), intent(inout) :: lhs
    type(elmai_model), intent(in) :: rhs
    integer(c_int) :: status
    if (c_associated(rhs%handle)) status = c_model_retain(rhs%handle)
    if (c_associated(lhs%handle)) status = c_model_free(lhs%handle)
    lhs%handle = rhs%handle
  end subroutine model_assign

  impure elemental subroutine tensor_final(tensor)
    type(elmai_tensor), intent(inout) :: tensor
    integer(c_int) :: status
    if (c_associated(tensor%handle)) status = c_tensor_free(tensor%handle)
    tensor%handle = c_null_ptr
  end subroutine tensor_final

  impure elemental subroutine tensor_assign(lhs, rhs)
    class(elmai_tensor), intent(inout) :: lhs
    type(elmai_tensor), intent(in) :: rhs
    integer(c_int) :: status
    if (c_associated(rhs%handle)) status = c_tensor_retain(rhs%handle)
    if (c_associated(lhs%handle)) status = c_tensor_free(lhs%handle)
    lhs%handle = rhs%handle
  end subroutine tensor_assign

end module elmai
