/* C ABI test: reads a restart through elmai.h and exercises every error path.
 * Usage: read_restart FILE VAR   prints shape, sum of non-fill values, fill count, first/last values, "errors ok" */
#include <elmai.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int expect(int got, int want, const char* what) {
  if (got != want) {
    fprintf(stderr, "%s: status %d, expected %d (%s)\n", what, got, want, elmai_last_error());
    return 1;
  }
  if (want != ELMAI_OK && strlen(elmai_last_error()) == 0) {
    fprintf(stderr, "%s: no message\n", what);
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  elmai_restart* r = NULL;
  if (elmai_restart_open(argv[1], &r) != ELMAI_OK) {
    fprintf(stderr, "open: %s\n", elmai_last_error());
    return 1;
  }
  int nd = 0;
  int64_t shape[8];
  if (elmai_restart_var_shape(r, argv[2], &nd, shape, 8) != ELMAI_OK) return 1;
  int64_t n = 1;
  printf("shape");
  for (int k = 0; k < nd; ++k) {
    printf(" %lld", (long long)shape[k]);
    n *= shape[k];
  }
  printf("\n");
  double* buf = malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (elmai_restart_read_double(r, argv[2], buf, nd, shape) != ELMAI_OK) return 1;
  double sum = 0; /* of real values: fill values (1e36) are counted, not summed */
  long long nfill = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (buf[i] >= 1e35) ++nfill;
    else sum += buf[i];
  }
  printf("sum %.17g\nnfill %lld\nfirst %.17g\nlast %.17g\n", sum, nfill, n ? buf[0] : 0.0, n ? buf[n - 1] : 0.0);

  int bad = 0;
  elmai_restart* none = NULL;
  bad |= expect(elmai_restart_open("/nonexistent/file.nc", &none), ELMAI_ERR_FILE, "missing file");
  bad |= expect(none == NULL ? ELMAI_OK : -1, ELMAI_OK, "handle stays null");
  bad |= expect(elmai_restart_open(NULL, &none), ELMAI_ERR_ARGUMENT, "null path");
  bad |= expect(elmai_restart_var_shape(r, "no_such_var", &nd, shape, 8), ELMAI_ERR_VARIABLE, "unknown variable");
  if (strstr(elmai_last_error(), "no_such_var") == NULL) bad = 1;
  int64_t wrong[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10}; /* one dimension too many */
  bad |= expect(elmai_restart_read_double(r, argv[2], buf, nd + 1, wrong), ELMAI_ERR_SHAPE, "wrong shape");
  bad |= expect(elmai_restart_var_shape(r, argv[2], &nd, shape, 0), nd > 0 ? ELMAI_ERR_SHAPE : ELMAI_OK, "maxdims");
  bad |= expect(elmai_restart_close(r), ELMAI_OK, "close");
  bad |= expect(elmai_restart_close(NULL), ELMAI_OK, "close null");
  free(buf);
  printf(bad ? "errors FAILED\n" : "errors ok\n");
  return bad;
}
