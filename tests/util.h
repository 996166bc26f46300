/* Helpers shared by the test files. */
#ifndef NTKC_TEST_UTIL_H
#define NTKC_TEST_UTIL_H

#include <stddef.h>

#include "ntkc.h"

/* Test timeouts in seconds, stretched under valgrind (make check-valgrind
 * builds with -DNTKC_TIMEOUT_SCALE=100: memcheck runs code 20-50x slower). */
#ifndef NTKC_TIMEOUT_SCALE
#define NTKC_TIMEOUT_SCALE 1
#endif
#define TIMEOUT(seconds) ((seconds)*NTKC_TIMEOUT_SCALE)

/* Compiles source text (tcc back end unless backend given), failing the test on error. */
ntkc_net *compile_or_fail(const char *source, ntkc_backend backend);
/* Deterministic pseudo-random matrix with entries in [-1, 1). */
void fill_random(double *x, size_t count, unsigned long long seed);
/* max |a - b| / max(1, max |b|) */
double max_rel_diff(const double *a, const double *b, size_t count);
/* Smallest eigenvalue of a symmetric n×n matrix (LAPACK). */
double min_eigenvalue(const double *a, size_t n);
/* Runs a shell command; returns its exit status, stderr captured in err_out (may be NULL). */
int run_command(const char *cmd, char *err_out, size_t err_size);
/* The ntkc executable under test ($NTKC_BIN, else build/ntkc). */
const char *ntkc_bin(void);
/* A fresh temporary directory for the calling test. */
void make_temp_dir(char *out, size_t size);
int file_exists(const char *path);
/* Compiles emitted C with the system compiler (-O2, warnings as errors, no
 * host primitives), loads it and looks up symbol; returns the dlopen handle. */
void *load_emitted_c(const char *c_source, const char *symbol, void **fn);

/* Calls fn(path, stem) for every .ntk file in examples/ (path "examples/NAME.ntk",
 * stem "NAME"; run from the project root); returns how many it visited. */
int for_each_example(void (*fn)(const char *path, const char *stem));

/* Parses and lowers src as the file "t.ntk" (net: the net to select, or
 * NULL) and expects a user error whose message starts "t.ntk:WHERE: error: "
 * (WHERE empty: "t.ntk: error: ") and contains `what`; a `what` that ends in
 * a newline must be the whole first line after that prefix. The one helper
 * for front-end errors: syntax, lowering and Gaussianity tests alike. */
void expect_error_in(const char *src, const char *net, const char *where, const char *what);
#define expect_error(src, where, what) expect_error_in(src, NULL, where, what)

#endif
