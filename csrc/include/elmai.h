/* elmai C ABI: what ELM's Fortran (fortran_bridge/elmai.F90) and other hosts call.
 * Every function returns a status (ELMAI_OK = 0) and never aborts the host; after a
 * failure, elmai_last_error() returns the message (thread-local, valid until the
 * next call on the same thread). */
#ifndef ELMAI_H
#define ELMAI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  ELMAI_OK = 0,
  ELMAI_ERR_FILE = 1,
  ELMAI_ERR_FORMAT = 2,
  ELMAI_ERR_VARIABLE = 3,
  ELMAI_ERR_SHAPE = 4,
  ELMAI_ERR_DTYPE = 5,
  ELMAI_ERR_VALUE = 6,
  ELMAI_ERR_ARGUMENT = 7,
  ELMAI_ERR_INTERNAL = 99
};

typedef struct elmai_restart elmai_restart;
typedef struct elmai_model elmai_model;
typedef struct elmai_tensor elmai_tensor;

const char* elmai_last_error(void);
const char* elmai_version(void);
/* For language bindings that detect an error on their side (e.g. Fortran extents):
 * records the message as the last error and returns status. */
int elmai_report_error(int status, const char* message);

int elmai_restart_open(const char* path, elmai_restart** out);
/* Drops this handle's reference; the file closes with the last (see *_retain). */
int elmai_restart_close(elmai_restart* file);
/* Adds a reference to a handle (restart, model, tensor): each reference is released by
 * its own close/free, and the object lives until the last. The Fortran module's handle
 * assignment and final procedures use these. */
int elmai_restart_retain(elmai_restart* file);
int elmai_model_retain(elmai_model* model);
int elmai_tensor_retain(elmai_tensor* tensor);
/* Number of dimensions and (C-order) shape of a variable; shape holds maxdims entries. */
int elmai_restart_var_shape(elmai_restart* file, const char* name, int* ndims, int64_t* shape, int maxdims);
/* Reads a numeric variable, converted to double, into `out`, whose C-order shape the
 * caller states (ndims entries) and which must equal the variable's. Memory order is
 * C order: a (column, levgrnd) variable fills a Fortran array (levgrnd, column). */
int elmai_restart_read_double(elmai_restart* file, const char* name, double* out, int ndims,
                              const int64_t* shape);

/* ---- model inference: TorchScript (.pt) or torch.export/AOTInductor (.pt2) -----------
 * The backend is chosen from the file (extension, else the zip's layout). Tensors are
 * views of the caller's memory (zero-copy). A model is loaded once and forwarded many
 * times; outputs are written into caller-provided tensors. A model may be shared by
 * threads (forwards on one model are serialised). Load and forward run with
 * floating-point traps masked, and the caller's FP environment is restored after. */

enum { ELMAI_FLOAT32 = 0, ELMAI_FLOAT64 = 1 };

/* device: "cpu", "cuda" or "cuda:N" (NULL = cpu); nthreads > 0 sets the intra-op thread
 * count (process-wide), 0 leaves it. The first forward runs `warmup` extra passes. */
int elmai_model_load(const char* path, const char* device, int nthreads, elmai_model** out);
int elmai_model_free(elmai_model* model);
int elmai_model_num_inputs(const elmai_model* model, int* n);
int elmai_model_forward(elmai_model* model, elmai_tensor* const* inputs, int ninputs, elmai_tensor* const* outputs,
                        int noutputs);

/* A view of C-order memory: shape[ndims]; strides in elements (NULL = contiguous). */
int elmai_tensor_create(void* data, int dtype, int ndims, const int64_t* shape, const int64_t* strides,
                        elmai_tensor** out);
/* A view of a Fortran (column-major) array of shape fshape[ndims]. layout[k] (1-based)
 * is the model dimension that Fortran dimension k+1 becomes; NULL = reversed
 * (ndims, ..., 1), so a Fortran (nfeatures, ncells) array is the model's [ncells, nfeatures]
 * without a copy. Any other permutation gives a strided view, still without a copy.
 * nlayout is the length of layout (must equal ndims unless layout is NULL). */
int elmai_tensor_from_fortran(void* data, int dtype, int ndims, const int64_t* fshape, const int* layout,
                              int nlayout, elmai_tensor** out);
int elmai_tensor_free(elmai_tensor* tensor);

/* ---- ELM's per-column balance check on in-memory arrays ------------------------------
 * err = (sum(inputs) - sum(outputs)) * dt - (end - begin). inputs holds nin term arrays
 * of ncol values one after another (a Fortran (ncol, nin) array), outputs likewise.
 * Counts columns above fail_tol (failures) and above warn_tol only (warnings); writes
 * up to `capacity` failing column indices (0-based) into failing_columns (may be NULL). */
int elmai_balance_check_columns(int64_t ncol, const double* begin, const double* end, int nin, const double* inputs,
                                int nout, const double* outputs, double dt, double fail_tol, double warn_tol,
                                int64_t* nfail, int64_t* nwarn, double* max_abs_error, int64_t* failing_columns,
                                int64_t capacity);

/* Objects alive now (not yet released by their last handle), per kind: for leak checks. */
int elmai_live_handles(int64_t* restarts, int64_t* models, int64_t* tensors);

int elmai_set_num_threads(int nthreads);
int elmai_get_num_threads(int* nthreads);

#ifdef __cplusplus
}
#endif
#endif
