/* The one internal header of the tools (cli/: ntkc and ntkc-mpi): what they
 * use of the library beyond include/ntkc.h. Self-contained — it includes
 * <ntkc.h> and standard headers only — and the only internal header on the
 * CLI's include path (Makefile, INC.cli; `make check-layering` refuses any
 * other). The runtime declares these functions here and nowhere else: its own
 * headers include this one. Not installed; libntkc.so does not export it. */
#ifndef NTKC_TOOL_H
#define NTKC_TOOL_H

#include <stddef.h>

#include <ntkc.h>

/* ---- Errors -------------------------------------------------------------
 * The runtime reports into the public ntkc_error (code 0, 1 user, 2
 * internal; the first error wins: later reports are ignored while code is
 * set). The formatting and escaping are the compiler's (compiler/support/
 * diag.c): these format into its Diag and copy (runtime/error/ntkc_err.c). */
enum { NTKC_OK = 0, NTKC_EUSER = 1, NTKC_EINTERNAL = 2 };

/* "error: MSG" */
void err_user(ntkc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "error: PATH: MSG", PATH escaped (control bytes and bytes that are not
 * printable UTF-8 as \xHH), so a hostile name cannot act on the terminal. */
void err_file(ntkc_error *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "internal error: MSG", code 2 */
void err_internal(ntkc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(ntkc_error *err);

/* ---- .npy files (runtime/io/npy.c) -------------------------------------- */
/* NumPy .npy files: users hand ntkc their data as .npy and get kernels back as
 * .npy. Every failure is a user error in an ntkc_error whose message names the
 * file (and, for bad values, the element). */
#define NPY_MAX_DIMS 8

typedef struct NpyArray {
    double *data;  /* malloc'd (never NULL on success, even when count is 0), float64, C order */
    size_t ndim;   /* 0..8 */
    size_t shape[NPY_MAX_DIMS];
    size_t count;  /* product of shape */
} NpyArray;

/* Reads float64/32/16, int8/16/32/64, uint8/16/32/64 and bool, either byte
 * order, C or Fortran order (Fortran is transposed into C order), format
 * versions 1.0, 2.0 and 3.0. Integers beyond 2^53 are rounded to the nearest
 * double. On failure *out is zeroed and nothing needs freeing. */
int npy_read(const char *path, NpyArray *out, ntkc_error *err);
void npy_free(NpyArray *a);

/* Just the header of a .npy (no data read), for readers that fetch the data
 * themselves (ntkc-mpi reads each rank's blocks of a kernel file): regular is
 * 0 for a pipe, FIFO or device, whose header is then not read (it could not be
 * read again); otherwise the shape and where the data start, checked against
 * the file's size, and plain = native-order float32 or float64 in C order
 * (what ntkc and numpy.save write), esz its element size. */
typedef struct NpyLayout {
    int regular, plain;
    size_t esz, data_offset, ndim, count;
    size_t shape[NPY_MAX_DIMS];
} NpyLayout;
int npy_read_layout(const char *path, NpyLayout *out, ntkc_error *err);

/* Reports the first NaN or infinity: "X.npy: element [12, 3] is NaN". */
int npy_check_finite(const NpyArray *a, const char *name, ntkc_error *err);

/* Checks, before any work, that `path` could be written: its directory exists
 * and accepts a new file (probed by creating and removing a temp file), and
 * `path` is not a directory, device, FIFO, socket or symbolic link. */
int npy_check_output(const char *path, ntkc_error *err);

/* Writes a C-order float64 array the way numpy.save does, atomically: into a
 * temp file in the same directory, then renamed over `path` (no fsync). */
int npy_write_f64(const char *path, size_t ndim, const size_t *shape, const double *data,
                  ntkc_error *err);

/* Streaming output for arrays larger than memory: create writes the header to
 * a temp file next to `path`, sizes it (disk space is reserved where the file
 * system allows, so a full disk fails here rather than as SIGBUS later) and
 * maps the data region shared, so tiles are written in place through
 * npy_out_data. commit unmaps and renames into place; abort removes the temp.
 * commit always consumes `o` (a failed commit aborts). Nothing appears at
 * `path`, and an existing file there is untouched, unless commit succeeds. */
typedef struct NpyOut NpyOut;
NpyOut *npy_out_create(const char *path, size_t ndim, const size_t *shape, ntkc_error *err);
double *npy_out_data(NpyOut *o);
/* A float32 ('<f4') output (`--precision single`); its data as floats. */
NpyOut *npy_out_create_f32(const char *path, size_t ndim, const size_t *shape, ntkc_error *err);
float *npy_out_data_f32(NpyOut *o);
int npy_out_commit(NpyOut *o, ntkc_error *err);
/* Commits several outputs all or nothing (out_replace_all below):
 * when one cannot be put in place, those before it get their old files
 * back. NULL entries are skipped; every entry is consumed. */
int npy_out_commit_all(NpyOut *const *outs, size_t n, ntkc_error *err);
void npy_out_abort(NpyOut *o); /* NULL is a no-op */
/* Drops the pages written so far from this process's map: they stay in the
 * page cache, bound for the file, so resident memory stays small whatever
 * the output's size. Safe while other threads write; NULL is a no-op. */
void npy_out_release(NpyOut *o);

/* 1 when both paths name the same file (out_files.h, out_same_file), else 0;
 * used to refuse writing an output over an input or another output. */
int npy_same_file(const char *a, const char *b);

/* Writes numpy.save's preamble + header for a C-order float64 array into buf
 * (cap >= NPY_WRITE_HEADER_MAX); returns its length, a multiple of 64
 * (runtime/io/npy_header.c). */
#define NPY_WRITE_HEADER_MAX 512
size_t npy_header_format(char *buf, size_t cap, size_t ndim, const size_t *shape);
/* The same for float32 (esz 4, '<f4') or float64 (esz 8) elements. */
size_t npy_header_format_esz(char *buf, size_t cap, size_t ndim, const size_t *shape, size_t esz);

/* Refuses (user error "PATH: cannot write output: it is a character device,
 * not a regular file") an existing path that is not a regular file: a device,
 * FIFO, socket, directory or symbolic link (renaming over /dev/null or the
 * /dev/stdout link would replace it). A path that does not exist is fine
 * (runtime/io/out_files.c). */
int out_check_kind(const char *path, ntkc_error *err);

/* Puts tmps[i] in place of paths[i] for every i, or none of them: an output
 * that fails (it became a device, a rename fails) undoes the ones before it,
 * which get their old files back. An existing output's permission bits (and,
 * for root, its owner) carry over to the new file; a new one keeps the temp's
 * 0666 less the umask. The temps are consumed either way, and their slots
 * (temp_files_*; -1 for none, or slots NULL) forgotten. Signals that arrive
 * meanwhile are acted on after the outputs are all in place or all back. */
int out_replace_all(char *const *tmps, const int *slots, const char *const *paths, size_t n, ntkc_error *err);

/* ---- Temporary files and signals (runtime/io/temp_files.c) -------------- */
/* Temporary files ntkc creates beside its outputs and in its code cache:
 * named so that they are recognisable and short, removed when the process is
 * interrupted, and reported when an earlier run died before removing them.
 *
 * Names: "<dir>/.ntkc-<pid>-<12 hex digits><ext>", whatever the length of the
 * output's name (an output name near NAME_MAX still has room for its temp).
 *
 * Signals: temp_files_install_handlers() (the CLI calls it) catches SIGINT,
 * SIGTERM and SIGHUP: the handler unlinks every registered temp file — a
 * fixed table read without locks or allocation, so it is async-signal-safe —
 * then restores the default disposition and re-raises the signal, so the
 * process still dies of it. Between temp_files_defer_signals() and
 * temp_files_resume_signals() (a commit of several outputs, which must
 * finish or roll back) a signal is held and acted on at the resume.
 *
 * The table is process-global: a signal handler can reach nothing else. It
 * and the deferral flags are the only mutable globals besides libtcc's lock. */
enum { TEMP_FILES_MAX = 32 };

/* Creates a new file "<prefix>.ntkc-<pid>-<random><ext>" exclusively with the
 * given mode (less the umask), registered for removal on a signal. prefix is
 * "" or a directory ending in '/'. Returns the descriptor (O_CLOEXEC, read and
 * write) with the path in out and the registration in *slot, or -1 with errno
 * set (ENAMETOOLONG when out is too small). */
int temp_file_create(const char *prefix, const char *ext, int mode, char *out, size_t cap, int *slot);

/* Registers path for removal on a signal; returns the slot, or -1 when the
 * table is full (the file then is only not cleaned up on a signal). */
int temp_files_add(const char *path);
/* Forgets a slot (before the file is renamed away or removed); -1 is a no-op. */
void temp_files_forget(int slot);

void temp_files_install_handlers(void);
void temp_files_defer_signals(void);
void temp_files_resume_signals(void);

/* Calls report(ctx, path, pid) for every "<dir>/.ntkc-<pid>-*" file owned by
 * this user whose process no longer exists: left by a run killed without
 * a chance to clean up (SIGKILL, power loss). Returns how many. */
int temp_files_stale(const char *dir, void (*report)(void *ctx, const char *path, long pid), void *ctx);

/* ---- Atomic writes (runtime/io/atomic_file.c) --------------------------- */
/* Writing a file so that readers see the old content or the new, never a
 * half-written one: a temporary beside the target, renamed into place. */
int atomic_write_file(const char *path, const void *data, size_t len, ntkc_error *err);

/* ---- Tiles (runtime/api/ntkc_tiles.c) ----------------------------------- */
/* A compiled net's kernel one output tile at a time, for drivers that spread
 * the tiles of one output over processes (cli/mpi_*.c). The tiling and every
 * tile's bits are those of ntkc_kernel / ntkc_kernel_graphs, so the pieces
 * put together equal the single-process output bit for bit. */
typedef struct ntkc_tiles ntkc_tiles;
typedef struct ntkc_tile {
    size_t i0, r, j0, c; /* rows [i0, i0+r) × columns [j0, j0+c) of the output */
    int diagonal;        /* on the diagonal of a symmetric output (x2 = x1) */
} ntkc_tile;

/* Vectors or images (in the precision the net was compiled for): x2 == NULL
 * means x2 = x1 (only tiles on and above the diagonal; their mirror images
 * are the caller's to place). edge 0 chooses
 * the engine's default edge for a machine of edge_threads threads; threads
 * computes the per-input records. NULL with err set. */
ntkc_tiles *ntkc_tiles_matrix(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                              size_t dim, size_t edge, int threads, int edge_threads, ntkc_error *err);
/* Graph nets: g2 == NULL means g2 = g1; edge 0 = 32 graphs. */
ntkc_tiles *ntkc_tiles_graphs(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, size_t edge,
                              int threads, ntkc_error *err);
size_t ntkc_tiles_count(const ntkc_tiles *t);
ntkc_tile ntkc_tiles_at(const ntkc_tiles *t, size_t index);
/* Tile `index` into nngp/ntk (either may be NULL): r×c row-major, leading
 * dimension c, a diagonal tile's lower half mirrored. Thread-safe across
 * distinct tiles. A non-finite entry is an error naming it. */
int ntkc_tiles_run(const ntkc_tiles *t, size_t index, double *nngp, double *ntk, ntkc_error *err);
/* The same for a net compiled with NTKC_PRECISION_SINGLE (whatever nets the
 * compiler gives a float32 kernel): float tiles with the bits of
 * ntkc_kernel_f32. ntkc_tiles_run refuses such a net's tiles, and this one
 * a float64 net's. */
int ntkc_tiles_run_f32(const ntkc_tiles *t, size_t index, float *nngp, float *ntk, ntkc_error *err);
void ntkc_tiles_free(ntkc_tiles *t); /* NULL is a no-op */

/* The blocks of a prediction of nets trained with fresh dropout masks
 * (ntkc_predict_options.dropout_fresh) and of ntkc_kernel_dropout_mixed, one
 * tile at a time, each tile with the bits of the single-process call:
 * TWO_DRAWS x1 against a copy of x2 (ntkc_kernel_two_draws: no pair is the
 * same input), MIXED x1 in eval mode against x2 under their own masks
 * (ntkc_kernel_dropout_mixed; a net without dropout: its ordinary kernel of
 * x1 against x2), EVAL the net without dropout (its eval-mode twin; x2 NULL:
 * symmetric). x2 (g2) NULL is x1 (g1) for TWO_DRAWS and MIXED, never the
 * symmetric output. Float64 nets (a float32 one refused by name); the tiles
 * own the twin and the copy. */
typedef enum ntkc_tiles_dropout { NTKC_TILES_TWO_DRAWS, NTKC_TILES_MIXED, NTKC_TILES_EVAL } ntkc_tiles_dropout;
ntkc_tiles *ntkc_tiles_matrix_dropout(const ntkc_net *net, ntkc_tiles_dropout how, size_t n1, const double *x1,
                                      size_t n2, const double *x2, size_t dim, size_t edge, int threads,
                                      int edge_threads, ntkc_error *err);
ntkc_tiles *ntkc_tiles_graphs_dropout(const ntkc_net *net, ntkc_tiles_dropout how, const ntkc_graphs *g1,
                                      const ntkc_graphs *g2, size_t edge, int threads, ntkc_error *err);
/* 1 when the net (branches included) has a train-mode dropout (ir_has_dropout). */
int ntkc_net_has_dropout(const ntkc_net *net);

/* ---- Kernel regression (runtime/predict/predict.c) ---------------------- */
/* Predictions of infinitely wide networks trained by gradient flow on MSE:
 * the mean and covariance over the random initialisation of an infinite
 * ensemble, as neural-tangents' predict.gradient_descent_mse_ensemble defines
 * them (neural_tangents/_src/predict.py; get='ntk' or 'nngp', learning_rate 1,
 * diag_reg_absolute_scale=False, trace_axes=(-1,)). t = ∞ is its t=None case,
 * which calls gp_inference.
 *
 * Notation: Θ = NTK, K = NNGP; subscripts t = train, s = test; y is n×k; the
 * kernels are those of one output unit (outputs are independent, so the
 * covariance is m×m and shared by the k outputs). G is the kernel that drives
 * training: Θ for PREDICT_NTK, K for PREDICT_NNGP.
 *
 *   N    = n·k                          time is divided by y_train.size
 *   G_r  = G_tt + reg·(tr G_tt / n)·I   only G_tt is regularised; K_tt in the
 *          (G_tt + reg·I with reg_absolute)
 *                                       NTK covariance is not
 *   G_r  = V diag(λ) Vᵀ                 one LAPACKE_dsyevd for all finite t
 *   A(τ) = V diag(a(λ_i, τ)) Vᵀ,  a(λ, τ) = (1 − e^{−λτ})/λ for λ > 0,
 *          a = 0 for λ ≤ 0             (eigenvalues clipped at 0; neural-
 *          tangents divides by |λ| so negative ones give 0, and λ = 0 exactly,
 *          where it gives 0/0, also gives 0 here)
 *
 * Mean (the ensemble starts at f = 0):
 *   mean(t) = G_st · A(t/N) · y
 *   mean(∞) = G_st · G_r⁻¹ · y                       (Cholesky, LAPACKE_dpotrf/dpotrs)
 * Covariance, PREDICT_NNGP (gradient flow of the readout only; at t = ∞ the
 * Bayesian GP posterior):
 *   cov(t) = K_ss − K_st · A(2t/N) · K_ts
 *   cov(∞) = K_ss − K_st · K_r⁻¹ · K_ts
 * Covariance, PREDICT_NTK (Lee et al. 2019, arXiv:1902.06720, eq. 15–16; not a
 * GP posterior): with B = Θ_st · A(t/N), or B = Θ_st · Θ_r⁻¹ at t = ∞,
 *   cov(t) = K_ss + B · K_tt · Bᵀ − B · K_ts − K_st · Bᵀ
 * t = 0 gives mean 0 and cov K_ss. Only the lower triangles of the symmetric
 * inputs (G_tt, K_tt, K_ss) are read. */
typedef enum { PREDICT_NTK, PREDICT_NNGP } PredictKernel;

/* All matrices are row-major doubles. */
typedef struct PredictInput {
    size_t n, m, k;                 /* train points, test points, outputs per point */
    const double *ntk_tt, *nngp_tt; /* n×n train-train (ntk_tt may be NULL for PREDICT_NNGP) */
    const double *ntk_st, *nngp_st; /* m×n test-train (ntk_st may be NULL for PREDICT_NNGP) */
    const double *nngp_ss;          /* m×m test-test prior (needed only for covariance) */
    const double *y;                /* n×k targets */
    double reg;                     /* diagonal regularisation (>= 0) */
    int reg_absolute;               /* 0: reg × (tr G_tt / n) is added, as by default in
                                       neural-tangents; 1: reg itself (its
                                       diag_reg_absolute_scale=True) */
} PredictInput;

/* times: ntimes values >= 0 in units of learning_rate·steps (INFINITY = to
 * convergence); mean: ntimes×m×k; cov: ntimes×m×m, or NULL for the mean only.
 * The NNGP arrays may be NULL for a PREDICT_NTK mean. Errors (user errors):
 * negative or NaN times, negative reg, non-finite targets or kernel entries; a
 * training kernel that is not numerically positive definite when t = ∞ is asked
 * for (Cholesky fails, or its reciprocal condition number is below machine
 * epsilon) — the message suggests --reg. Finite times need n <= 32767 (LAPACK's
 * 32-bit workspace for dsyevd). Returns 0 or the error code. */
int predict_gd_mse(const PredictInput *in, PredictKernel kind, const double *times, size_t ntimes,
                   double *mean, double *cov, ntkc_error *err);

/* Largest class count predict_class_count accepts. */
#define PREDICT_MAX_CLASSES 65536

/* Class count of integer labels >= 0: max + 1. Labels that are negative,
 * fractional, non-finite or >= PREDICT_MAX_CLASSES are user errors. */
int predict_class_count(const double *labels, size_t n, size_t *k_out, ntkc_error *err);
/* y (n×k) = one-hot rows of labels; a label >= k is a user error, so test
 * labels can be encoded with the training set's class count. */
int predict_one_hot(const double *labels, size_t n, size_t k, double *y, ntkc_error *err);

/* Fraction of the m rows of mean (m×k) whose argmax (first on ties) equals the
 * label; 0 when m == 0. */
double predict_accuracy(const double *mean, const double *labels, size_t m, size_t k);
/* Mean over all m·k entries of (mean − y)²; 0 when m·k == 0. */
double predict_mse(const double *mean, const double *y, size_t m, size_t k);

/* ---- From given initial outputs (runtime/predict/predict_fx0.c) --------- */
/* neural-tangents' predict.gradient_descent_mse(k_train_train, y_train, ...)
 * and its predict_fn(t, fx_train_0, fx_test_0, k_test_train): gradient flow on
 * MSE from given initial outputs fx₀ — one network, not the ensemble mean.
 *
 * With G_r = G_tt + shift·I (shift as in predict_gd_mse above), N = n·k, τ = t/N and
 * A(τ) = V diag((1 − e^{−λτ})/λ) Vᵀ as for predict_gd_mse:
 *   f_train(t) = fx0_train + G_r·A(τ)·(y − fx0_train)
 *              = y + e^{−G_r τ}·(fx0_train − y)        (λ > 0)
 *   f_test(t)  = fx0_test  + G_st·A(τ)·(y − fx0_train)
 *   t = ∞:       f_train = y,  f_test = fx0_test + G_st·G_r⁻¹·(y − fx0_train)
 * Eigenvalues λ ≤ 0 are clipped as for predict_gd_mse: those modes do not move
 * (neural-tangents would let a negative one grow). The train rows are G_r·A,
 * computed by predict_gd_mse with G_r appended to the test-train rows, so
 * one eigendecomposition serves both. */
/* in: the training kernel in ntk_tt, test-train in ntk_st (the NNGP fields
 * are ignored), y, reg, reg_absolute. fx0_train (n×k) and fx0_test (m×k) may
 * be NULL for zeros. f_train (ntimes×n×k) may be NULL; f_test ntimes×m×k.
 * Errors as predict_gd_mse's, plus non-finite fx0 entries. */
int predict_gd_mse_from(const PredictInput *in, const double *fx0_train, const double *fx0_test,
                        const double *times, size_t ntimes, double *f_train, double *f_test, ntkc_error *err);

/* ---- Function-space ODE (runtime/predict/predict_ode.c) ----------------- */
/* Training beyond MSE: the function-space ODE of an infinitely wide network
 * trained by gradient descent (optionally with momentum) on MSE or softmax
 * cross-entropy, as neural-tangents' predict.gradient_descent integrates it
 * (neural_tangents/_src/predict.py), here with GSL's adaptive, error-
 * controlled Runge–Kutta–Prince–Dormand 8(9) (gsl_odeiv2_step_rk8pd).
 *
 * G is the kernel that drives training (Θ, or K for readout-only training),
 * G_tt n×n, G_st m×n; y n×k; N = n·k. The losses, normalised as
 * neural-tangents' examples are (a mean over all n·k entries):
 *   mse:  L(f) = Σ (f − y)² / (2N)                 ∇L = (f − y)/N
 *   xent: L(f) = −Σ_i Σ_c y_ic·log softmax(f_i)_c / N
 *                                                  ∇L_ic = (p_ic·Σ_c' y_ic' − y_ic)/N
 *         with p_i = softmax(f_i) (for one-hot rows, (p − y)/N).
 * Gradient descent, learning rate η, t = steps (neural-tangents' t; τ = η·t):
 *   df_train/dτ = −G_tt·∇L(f_train),   df_test/dτ = −G_st·∇L(f_train)
 * Momentum μ (heavy ball: v ← μ·v − η·∇θL, θ ← θ + v), τ = √η·t:
 *   df/dτ = q,   dq/dτ = −G·∇L(f_train) + (μ − 1)/√η · q,   q(0) = 0
 * for train and test alike (q_test driven by the train gradient).
 * With MSE and no momentum this is predict_gd_mse_from's closed form. */
typedef enum { PREDICT_LOSS_MSE, PREDICT_LOSS_XENT } PredictLoss;

typedef struct PredictOde {
    size_t n, m, k;
    const double *g_tt, *g_st;          /* g_st may be NULL when m == 0 */
    const double *y;                    /* n×k */
    const double *fx0_train, *fx0_test; /* n×k, m×k initial outputs; NULL = zeros */
    PredictLoss loss;
    int momentum_on;                    /* 0: plain gradient descent */
    double momentum;                    /* μ in [0, 1) when momentum_on */
    double learning_rate;               /* η > 0 (neural-tangents' learning_rate) */
    double rtol;                        /* relative tolerance per step; 0 = 1e-10 */
} PredictOde;

typedef struct PredictOdeStats {
    size_t steps;     /* accepted and rejected steps of the integrator together */
    size_t rhs_evals; /* evaluations of the right-hand side */
} PredictOdeStats;

/* times: ntimes finite values >= 0, in steps (any order); f_train
 * (ntimes×n×k) may be NULL, f_test ntimes×m×k. Errors (user): infinite,
 * negative or NaN times, μ outside [0, 1), η <= 0, non-finite inputs, a
 * gradient that is not finite or the integrator failing to reach a time
 * within 10⁷ steps (too stiff: the message names the time). stats may be
 * NULL. Returns 0 or the error code; outputs are then unspecified. */
int predict_ode(const PredictOde *p, const double *times, size_t ntimes, double *f_train, double *f_test,
                PredictOdeStats *stats, ntkc_error *err);

/* ---- Net sources and the finite-width check (runtime/api, runtime/dynamics) */
/* Reads a net source (at most 64 MiB, README "Limits") into a NUL-terminated
 * malloc'd buffer, or NULL with err set. */
char *ntkc_read_text_file(const char *path, ntkc_error *err);

/* ntkc_emit (header 0) or ntkc_emit_header (1) for a precision: under
 * NTKC_PRECISION_SINGLE the float32 file a net compiled for single precision
 * runs (`ntkc emit --precision single`), refused by name for the families
 * without float32 kernels (docs/precision.md). ntkc_free the result. */
char *ntkc_emit_precision(const char *source, const char *filename, const char *net_name, ntkc_precision precision,
                          int header, ntkc_error *err);

typedef struct ntkc_finite_options {
    size_t width;   /* hidden width (image nets: channels) */
    size_t samples; /* independent initialisations averaged */
    unsigned long long seed;
} ntkc_finite_options;

/* The inputs of a finite-width check: n rows of dim values (vector and image
 * nets), or graphs (graph nets: n = their count, x unused). */
typedef struct ntkc_finite_input {
    size_t n;
    const double *x;
    size_t dim;
    const ntkc_graphs *graphs;
} ntkc_finite_input;

/* The Monte Carlo reference of `ntkc check`: the empirical NNGP and NTK of
 * finite-width networks of the net's family (fully connected, image and
 * branching, or graph), averaged over opts->samples initialisations. The
 * runtime picks the reference for the compiled net (the FINITE column of its
 * family's row, runtime/api/family.c). nngp, ntk: n×n row-major, either may
 * be NULL. Returns 0 or the error code. */
int ntkc_finite_kernels(const ntkc_net *net, const ntkc_finite_input *in, const ntkc_finite_options *opts,
                        double *nngp, double *ntk, ntkc_error *err);

/* Refuses (user error naming the condition number and suggesting --precision
 * double or --reg) a prediction from float32 kernels whose training kernel
 * plus regulariser has κ₁·2^-24 > 1e-2: float32 rounding would then move the
 * answer by more than 1% (runtime/predict/predict_precision.c). */
int predict_check_float32(const PredictInput *in, PredictKernel kind, ntkc_error *err);
/* The rule itself, for a solver that factorised the kernel on its own
 * (ntkc-mpi: pdpotrf + pdpocon): not_pd when the Cholesky factorisation
 * failed, else rcond its reciprocal 1-norm condition estimate; name "NTK" or
 * "NNGP"; regularised when reg added a nonzero shift; estimator names the
 * condition estimate in the message ("LAPACK dpocon"). 0, or the user error. */
int predict_float32_verdict(int not_pd, double rcond, const char *name, int regularised, const char *estimator,
                            ntkc_error *err);

/* ---- One prediction from computed kernels (runtime/predict/predict_solve.c) ----
 * Whichever the options of ntkc_predict_options ask for: the ensemble on MSE
 * (predict_gd_mse), one network from its initial outputs fx0 or the training
 * ODE for cross-entropy and momentum. ntkc_predict, ntkc_predict_graphs and
 * `ntkc predict --k-train` all end here, so the options mean the same wherever
 * the kernels came from. */
/* The options beyond the ensemble, checked against each other (user
 * errors): loss and momentum in range, learning_rate only with momentum, no
 * covariance (want_cov) for one network's outputs (fx0, xent, momentum), no
 * reg with the ODE (neural-tangents' gradient_descent has none). */
int predict_check_options(const ntkc_predict_options *o, int want_cov, ntkc_error *err);
/* What o->dropout_fresh refuses, by name (runtime/api/ntkc_dropout.c): cross-entropy, fx0, a mean on the
 * training points (o->train_mean or train_mean), a float32 net with dropout (net NULL: not checked). */
int predict_check_dropout_fresh(const ntkc_net *net, const ntkc_predict_options *o, int train_mean,
                                ntkc_error *err);

/* 1 when o asks for the outputs of one network (fx0 given, cross-entropy or
 * momentum) rather than the ensemble's mean. */
int predict_options_one_net(const ntkc_predict_options *o);

/* in: kernels as predict_gd_mse takes them; kind picks the kernel G that
 * drives training (ntk_* for PREDICT_NTK, nngp_* for PREDICT_NNGP), which is
 * all that fx0 and the ODE read; reg and reg_absolute in `in` are used, o's
 * are not. mean: ntimes×m×k; cov: ntimes×m×m or NULL (the ensemble only);
 * o->train_mean, when not NULL, receives ntimes×n×k outputs on the training
 * points. ode (may be NULL) receives the integrator's counts (zero without
 * the ODE). Returns 0 or the error code. */
int predict_solve(const PredictInput *in, PredictKernel kind, const ntkc_predict_options *o,
                  const double *times, size_t ntimes, double *mean, double *cov, PredictOdeStats *ode,
                  ntkc_error *err);


#endif
