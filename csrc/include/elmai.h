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

const char* elmai_last_error(void);
const char* elmai_version(void);

int elmai_restart_open(const char* path, elmai_restart** out);
int elmai_restart_close(elmai_restart* file);
/* Number of dimensions and (C-order) shape of a variable; shape holds maxdims entries. */
int elmai_restart_var_shape(elmai_restart* file, const char* name, int* ndims, int64_t* shape, int maxdims);
/* Reads a numeric variable, converted to double, into `out`, whose C-order shape the
 * caller states (ndims entries) and which must equal the variable's. Memory order is
 * C order: a (column, levgrnd) variable fills a Fortran array (levgrnd, column). */
int elmai_restart_read_double(elmai_restart* file, const char* name, double* out, int ndims,
                              const int64_t* shape);

#ifdef __cplusplus
}
#endif
#endif
