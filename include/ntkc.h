/* libntkc — compile neural-network architectures into their infinite-width
 * NNGP and NTK kernels, and evaluate them on data.
 *
 *   ntkc_error err;
 *   ntkc_net *net = ntkc_compile_file("fc.ntk", NULL, &err);
 *   if (!net) { fputs(err.message, stderr); ... }
 *   ntkc_kernel(net, n, x, 0, NULL, d, nngp, ntk, NULL, &err);
 *   ntkc_net_free(net);
 *
 * Every function reports failure through an ntkc_error: code 1 for a user
 * error (bad source, bad data), 2 for an internal one, and a message that names
 * the file and position or the array at fault. Nothing is printed. */
#ifndef NTKC_H
#define NTKC_H

#include <stddef.h>

/* The shared library's SONAME is libntkc.so.MAJOR. */
#define NTKC_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ntkc_error {
    int code; /* 0 ok, 1 user error, 2 internal error */
    char message[2048];
} ntkc_error;

typedef enum ntkc_backend {
    NTKC_BACKEND_TCC = 0, /* libtcc, in process, milliseconds */
    NTKC_BACKEND_CC = 1   /* system compiler at -O3 into a cached shared object */
} ntkc_backend;

typedef enum ntkc_precision {
    NTKC_PRECISION_DOUBLE = 0, /* float64 arithmetic and outputs (the default) */
    NTKC_PRECISION_SINGLE = 1  /* float32 (neural-tangents' default): ntkc_kernel_f32 (fully connected and
                                  image nets), ntkc_kernel_graphs_f32 (graph nets) */
} ntkc_precision;

typedef struct ntkc_compile_options {
    const char *net_name; /* which net of the file; NULL = the only one */
    ntkc_backend backend;
    ntkc_precision precision; /* appended; 0 = double as before (docs/precision.md) */
} ntkc_compile_options;

typedef struct ntkc_net ntkc_net;

ntkc_net *ntkc_compile_string(const char *source, const char *filename,
                              const ntkc_compile_options *opts, ntkc_error *err);
ntkc_net *ntkc_compile_file(const char *path, const ntkc_compile_options *opts, ntkc_error *err);
void ntkc_net_free(ntkc_net *net);

const char *ntkc_net_name(const ntkc_net *net);
/* Features per input the net requires, or 0 when any width is accepted. */
size_t ntkc_net_input_dim(const ntkc_net *net);
/* The declared input shape: 4 for `input volume(D, H, W, C)` (shape = D, H,
 * W, C), 3 for `input image(H, W, C)` (H, W, C), 2 for `input sequence(L, C)`
 * (L, C), 1 for a vector of fixed dimension, 0 when any dimension is
 * accepted; shape has room for 4. Image data are rows of H·W·C values in
 * NHWC order, so an (n, H, W, C) array is passed as n × (H·W·C); volumes
 * likewise in NDHWC order. */
int ntkc_net_input_shape(const ntkc_net *net, size_t shape[4]);
/* The generated C source (valid while net lives). */
const char *ntkc_net_source(const ntkc_net *net);

/* Emits the C for one net of a source text without compiling it; returns a
 * malloc'd string (free it) or NULL. */
char *ntkc_emit(const char *source, const char *filename, const char *net_name, ntkc_error *err);
/* The header declaring what that C exports (`ntkc emit -H`): the same
 * arguments; a malloc'd string (free it) or NULL. */
char *ntkc_emit_header(const char *source, const char *filename, const char *net_name, ntkc_error *err);

/* The text `ntkc derive` prints for the formula activations `names` of a
 * source text (all of them when nnames == 0): φ and its symbolic derivative φ'
 * with their default parameters, and the quadrature of their dual kernels.
 * Returns a malloc'd string (free it) or NULL. */
char *ntkc_derive(const char *source, const char *filename, const char *const *names, size_t nnames,
                  ntkc_error *err);

/* The recursion IR one net of a source text lowers to, as `ntkc ir` prints it:
 * one line per op with its position, output shape and Gaussianity. Returns a
 * malloc'd string (free it) or NULL. */
char *ntkc_ir(const char *source, const char *filename, const char *net_name, ntkc_error *err);

/* Frees a string returned by ntkc_emit, ntkc_emit_header, ntkc_derive or ntkc_ir (for callers, such as
 * Python's ctypes, that do not share this library's malloc). */
void ntkc_free(void *p);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *ntkc_version(void);

/* Progress callback: done and total in kernel entries; return non-zero to cancel. */
typedef int (*ntkc_progress_fn)(void *ctx, size_t done, size_t total);

typedef struct ntkc_eval_options {
    int threads;        /* 0 = all cores */
    size_t tile;        /* tile edge in entries; 0 = default */
    ntkc_progress_fn progress;
    void *progress_ctx;
} ntkc_eval_options;

/* NNGP and NTK between rows of x1 (n1×dim) and x2 (n2×dim), row-major doubles.
 * x2 == NULL means x2 = x1 (then only one triangle is computed and mirrored).
 * nngp and ntk are n1×n2 row-major outputs; either may be NULL. Returns 0 or
 * the error code. Non-finite results are reported as errors, never returned. */
int ntkc_kernel(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts,
                ntkc_error *err);

/* ---- Dropout: the mixed kernel ----
 * For a net with dropout(rate) in train mode: the NNGP and NTK between the
 * rows of x1 in eval mode (every dropout the identity, as a net trained with
 * dropout predicts) and the rows of x2 under their own masks (train mode), no
 * input of x1 sharing a mask with one of x2. x2 == NULL means x2 = x1: each
 * input in eval mode against itself under its mask. The eval side's variances
 * are unscaled, the masked side's divided by the rate at every dropout, their
 * covariance unscaled: the test–train kernel of an ensemble trained with fresh
 * masks every step (README, "Training dynamics"; ntkc_predict_options'
 * dropout_fresh). Not symmetric: n1×n2 row-major outputs, either may be NULL.
 * A net without train-mode dropout (or with every rate 1) has no masks: the
 * result is ntkc_kernel's between x1 and x2. Each call compiles the net's
 * eval-mode twin (the same recursion with every dropout at rate 1) with the
 * net's backend. Float64 nets only: a net compiled with
 * NTKC_PRECISION_SINGLE is refused. Returns 0 or the error code. */
int ntkc_kernel_dropout_mixed(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                              size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts,
                              ntkc_error *err);

/* ---- Variable-length inputs (nets with attention) ----
 * A position of an input (a token of a sequence, a pixel of an image, a voxel
 * of a volume declared `masked=true`) whose
 * every channel is NaN is padding — neural-tangents' mask_constant = NaN —
 * and is left out of every layer: masked keys get attention weight 0,
 * global_avg_pool averages over the unpadded positions, and the kernels do
 * not depend on the padding's place in the array beyond its positions
 * (docs/attention.md, "Masking"). Positional embeddings count from the
 * start: pad at the end. Every function taking inputs accepts padding so
 * marked; NaN anywhere else, or in a net without attention, is an error.
 * ntkc_mask_inputs marks the positions with mask[i·P + p] = 1 (P = H·W
 * positions, D·H·W for volumes, row-major as the data; values 0 or 1, at
 * least one 0 per input) in x (n×dim) in place;
 * ntkc_mask_lengths, for sequences, the positions p >= lengths[i] (whole
 * numbers in [1, L]). 0, or the error code (x unchanged). */
int ntkc_mask_inputs(const ntkc_net *net, size_t n, double *x, size_t dim, const double *mask, ntkc_error *err);
int ntkc_mask_lengths(const ntkc_net *net, size_t n, double *x, size_t dim, const double *lengths, ntkc_error *err);

/* The same for a net compiled with NTKC_PRECISION_SINGLE: float32 arithmetic
 * in the recursion (the per-input records are computed in float64 and
 * rounded), float32 outputs. Errors against float64: docs/precision.md.
 * Each of ntkc_kernel and ntkc_kernel_f32 refuses a net of the other precision. */
int ntkc_kernel_f32(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                    size_t dim, float *nngp, float *ntk, const ntkc_eval_options *opts,
                    ntkc_error *err);
/* The precision a net was compiled for. */
ntkc_precision ntkc_net_precision(const ntkc_net *net);

/* ---- Prediction: infinitely wide networks trained by gradient flow on MSE ----
 *
 * The mean (and covariance) over random initialisations of the outputs of an
 * infinite ensemble of the net, trained on (x_train, y_train) by full-batch
 * gradient flow on the mean squared error for time t, on x_test — as
 * neural-tangents' predict.gradient_descent_mse_ensemble defines them
 * (learning rate 1; time divided by y_train's size n·k; eigenvalues of the
 * training kernel clipped at 0). NTKC_PREDICT_NTK: the NTK drives training,
 * mean(t) = Θ_st·Θ_r⁻¹·(I − e^{−Θ_r·t/(n·k)})·y, covariance that of the NTK-GP
 * (Lee et al. 2019, eq. 15–16; not a Bayesian posterior). NTKC_PREDICT_NNGP:
 * only the readout is trained; at t = ∞ this is the Bayesian GP posterior,
 * mean K_st·K_r⁻¹·y, covariance K_ss − K_st·K_r⁻¹·K_ts. Θ_r = Θ_tt + reg·(tr Θ_tt
 * / n)·I (K_r likewise); runtime/tool/ntkc_tool.h (predict_gd_mse) has every formula.
 *
 * Finite times use one eigendecomposition of the training kernel (LAPACK
 * dsyevd) shared by all of them; t = ∞ a Cholesky factorisation.
 *
 * Beyond the ensemble (options below, docs/predict.md): the outputs of one
 * network from given initial outputs fx0 (neural-tangents' gradient_descent_mse
 * predict_fn), and one network trained on softmax cross-entropy and/or with
 * heavy-ball momentum (its gradient_descent: the function-space ODE, GSL's
 * adaptive Runge–Kutta), from the same kernels as `ntkc predict --k-train`. */
typedef enum ntkc_predict_kernel {
    NTKC_PREDICT_NTK = 0, /* gradient descent on all parameters (the default) */
    NTKC_PREDICT_NNGP = 1 /* only the last layer trained: the NNGP posterior */
} ntkc_predict_kernel;

typedef enum ntkc_predict_loss {
    NTKC_LOSS_MSE = 0, /* ‖f − y‖²/(2·n·k): closed forms */
    NTKC_LOSS_XENT = 1 /* softmax cross-entropy −Σ y·log softmax(f)/(n·k): the training ODE */
} ntkc_predict_loss;

typedef struct ntkc_predict_options {
    ntkc_predict_kernel kernel;
    double reg;             /* >= 0, relative to the training kernel's mean diagonal */
    ntkc_eval_options eval; /* threads, tile and progress of the kernel computations;
                               progress counts the entries of all of them together */
    int reg_absolute;       /* 1: reg is added to the diagonal as it is (neural-tangents'
                               diag_reg_absolute_scale=True) */
    /* Fields below were appended (the layout before them is unchanged); all
     * zero = the ensemble trained on MSE, as before. Any of fx0_*, XENT or
     * momentum_on makes the outputs those of one network (no cov); XENT and
     * momentum_on integrate the training ODE (finite times only, reg 0;
     * runtime/predict/predict_ode.h has the equations), docs/predict.md. */
    const double *fx0_train; /* n×k outputs of one network at t = 0 on x_train, or NULL (zeros) */
    const double *fx0_test;  /* m×k on x_test, or NULL (zeros) */
    ntkc_predict_loss loss;
    int momentum_on;         /* 1: gradient descent with heavy-ball momentum */
    double momentum;         /* μ in [0, 1), with momentum_on */
    double learning_rate;    /* η > 0 of the momentum ODE (times count steps of η); 0 = 1;
                                only with momentum_on */
    double *train_mean;      /* ntimes×n×k: the outputs on x_train as well, or NULL */
    /* Appended: a net with train-mode dropout. 0 (the default, neural-tangents'
     * predict with its kernel_fn): the net's own kernels, each input under its
     * own masks on both sides — the ensemble of nets in which every input keeps
     * one mask through training and prediction. 1: the ensemble of nets trained
     * with fresh masks every step and predicting without dropout, as dropout is
     * used and `ntkc train` trains (README, "Training dynamics"): the training
     * kernel between independent masks (x_train against a copy of itself), the
     * test–train kernel ntkc_kernel_dropout_mixed, the test covariance of the
     * net without dropout. Float64 nets; not with fx0_* or XENT (refused by
     * name); no effect on a net without dropout. */
    int dropout_fresh;
} ntkc_predict_options;

typedef struct ntkc_predict_stats {
    double kernel_seconds; /* computing the kernels */
    double solve_seconds;  /* eigendecomposition or Cholesky, and the products; or the ODE */
    /* Appended: the training ODE's work (0 without it). */
    size_t ode_steps;      /* accepted and rejected steps of the integrator */
    size_t ode_evals;      /* evaluations of −Θ·∇L */
} ntkc_predict_stats;

/* x_train n×dim, y_train n×k, x_test m×dim: row-major doubles, rows as
 * ntkc_kernel takes them. times: ntimes values >= 0 (INFINITY = trained to
 * convergence); times == NULL or ntimes == 0 means the single time ∞.
 * mean: ntimes×m×k (m×k for one time). cov: ntimes×m×m, or NULL for the mean
 * only; one m×m covariance per time, shared by the k outputs (they are
 * independent). opts NULL = NTK, reg 0, default evaluation. stats may be NULL.
 *
 * Computes only the kernels it needs: the training kernel on x_train (one
 * triangle) and test × train; the NNGP as well for an NTK covariance; the NNGP
 * on x_test (one triangle) only for a covariance. User errors (code 1), found
 * before any kernel is computed where possible: non-finite inputs or targets,
 * negative or NaN times, reg < 0, dim not what the net takes, a graph net
 * (use ntkc_predict_graphs), options that do not go together (cov with fx0,
 * XENT or momentum; reg with XENT or momentum; learning_rate without
 * momentum; momentum outside [0, 1)), non-finite fx0; afterwards, a training
 * kernel that is singular for t = ∞ (the message suggests a reg), t = ∞
 * with XENT or momentum. With fx0, XENT or momentum, mean holds that
 * network's outputs on x_test.
 * Returns 0 or the error code. */
int ntkc_predict(const ntkc_net *net, size_t n, const double *x_train, const double *y_train, size_t k,
                 size_t m, const double *x_test, size_t dim, const double *times, size_t ntimes,
                 const ntkc_predict_options *opts, double *mean, double *cov, ntkc_predict_stats *stats,
                 ntkc_error *err);

/* ---- Graphs ----------------------------------------------------------------
 * Nets declaring `input graph(F)` take sets of graphs instead of matrices: the
 * kernel between two graphs (graph neural tangent kernel, Du et al. 2019). */

typedef struct ntkc_graphs ntkc_graphs;

/* 1 when the net's input is a graph (use ntkc_kernel_graphs), else 0. */
int ntkc_net_takes_graphs(const ntkc_net *net);

/* Reads a graph data set in the GIN/GNTK text format (README, "Graphs"):
 * first line the number of graphs; per graph a line "n label", then n lines
 * "tag k neighbour_1 ... neighbour_k [feature values]". features: the F the
 * net takes (ntkc_net_input_dim), or 0 to take it from the data. Node
 * features are one-hot in the tag when a file gives none. Malformed files are
 * errors naming the line; an adjacency listed on one side only is made
 * symmetric and reported by ntkc_graphs_warnings. */
ntkc_graphs *ntkc_graphs_read(const char *path, size_t features, ntkc_error *err);
/* The same from text in memory; name labels messages. */
ntkc_graphs *ntkc_graphs_parse(const char *text, const char *name, size_t features, ntkc_error *err);
void ntkc_graphs_free(ntkc_graphs *graphs);
size_t ntkc_graphs_count(const ntkc_graphs *graphs);
/* F: features per node. */
size_t ntkc_graphs_features(const ntkc_graphs *graphs);
/* Nodes of graph i. */
size_t ntkc_graphs_nodes(const ntkc_graphs *graphs, size_t i);
/* The graphs' labels as read (ntkc_graphs_count values). */
const double *ntkc_graphs_labels(const ntkc_graphs *graphs);
/* What was repaired while reading (one line each), or NULL when nothing was. */
const char *ntkc_graphs_warnings(const ntkc_graphs *graphs);

/* NNGP and NTK between the graphs of g1 and g2 (g2 == NULL: g2 = g1, one
 * triangle computed and mirrored); nngp and ntk are count1 × count2 row-major
 * outputs, either may be NULL. Returns 0 or the error code. */
int ntkc_kernel_graphs(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, double *nngp,
                       double *ntk, const ntkc_eval_options *opts, ntkc_error *err);
/* The same for a graph net compiled with NTKC_PRECISION_SINGLE: float32
 * node-pair arithmetic (the input Gram's dot products and the readout's sums
 * in float64, each rounded once), float32 outputs. Each of
 * ntkc_kernel_graphs and ntkc_kernel_graphs_f32 refuses a net of the other
 * precision. Errors against float64: docs/precision.md. */
int ntkc_kernel_graphs_f32(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, float *nngp,
                           float *ntk, const ntkc_eval_options *opts, ntkc_error *err);

/* ntkc_kernel_dropout_mixed for a graph net: g1's graphs in eval mode, g2's
 * under their masks (g2 == NULL: g2 = g1, each graph against itself; two sets
 * are never the same graphs). count1 × count2 outputs, either may be NULL. */
int ntkc_kernel_graphs_dropout_mixed(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2,
                                     double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err);

/* ntkc_predict for a graph net: trained on the n = ntkc_graphs_count(train)
 * graphs with targets y_train (n×k; for class labels, one-hot rows of
 * ntkc_graphs_labels), predicting on the m = ntkc_graphs_count(test) graphs.
 * times, opts, mean (ntimes×m×k), cov (ntimes×m×m or NULL), stats: exactly as
 * ntkc_predict, with the kernels of ntkc_kernel_graphs. Both sets must have
 * the net's F node features. Returns 0 or the error code. */
int ntkc_predict_graphs(const ntkc_net *net, const ntkc_graphs *train, const double *y_train, size_t k,
                        const ntkc_graphs *test, const double *times, size_t ntimes,
                        const ntkc_predict_options *opts, double *mean, double *cov, ntkc_predict_stats *stats,
                        ntkc_error *err);


/* ---- Training dynamics: the kernel's spectrum, finite nets against it ----
 *
 * Conventions are ntkc_predict's (neural-tangents'): N = n·k target entries,
 * loss L = ‖f − Y‖²/(2N), time t = learning rate × steps of gradient descent
 * on L, so the infinitely wide net's training residual on X follows
 * f − Y = −e^{−G·t/N}·Y from f = 0 (G the training kernel, clipped at 0). */

typedef struct ntkc_spectrum_options {
    ntkc_predict_kernel kernel; /* the kernel G: NTK (default) or NNGP */
    size_t top;          /* 0: every eigenvalue (LAPACK dsyevd); K in [1, n): the K largest (ARPACK
                            dsaupd/dseupd, Lanczos with implicit restarts) — then the quantities that need
                            the whole spectrum (λ_min, condition, loss curve, reach time, Arora) are NAN */
    const double *times; /* ntimes times >= 0 at which the loss L(t) is evaluated (may be NULL) */
    size_t ntimes;
    double reach;        /* the loss whose first reaching time is computed; 0 = L(0)/100 */
    ntkc_eval_options eval;
} ntkc_spectrum_options;

typedef struct ntkc_spectrum_result {
    size_t n, k, count;   /* count eigenvalues: n, or opts.top */
    double *eigenvalues;  /* count, largest first (malloc'd) */
    double trace;         /* Σλ = tr G */
    double lambda_max, lambda_min; /* λ_min NAN with top */
    double condition;     /* λ_max/λ_min; INFINITY when λ_min <= 0; NAN with top */
    double effective_rank; /* participation ratio (Σλ)²/Σλ² = (tr G)²/‖G‖_F², in [1, n], from G itself */
    double max_lr;        /* 2·N/λ_max: neural_tangents.predict.max_learning_rate (momentum 0) —
                             above it gradient descent on L diverges along the top eigenvector */
    /* With targets (y != NULL), otherwise NULL / NAN: */
    double *energy;       /* count×k: (v_iᵀ y_o)², the energy of output o along eigenvector i */
    double *loss;         /* ntimes: L(t) = Σ_i Σ_o (v_iᵀy_o)²·e^{−2λ_i t/N} / (2N) (λ_i <= 0: no decay) */
    double loss0, loss_inf; /* L(0) = ‖Y‖²/(2N); L(∞), the energy in eigenvalues <= 0 */
    double reach, reach_time; /* the loss asked for and the first t with L(t) <= reach (INFINITY: never) */
    double alignment;     /* kernel–target alignment ⟨G, YYᵀ⟩_F/(‖G‖_F·‖YYᵀ‖_F) (Cristianini et al.
                             2002), uncentred, in [0, 1] for positive semi-definite G */
    double *arora;        /* k: √(2·y_oᵀG⁻¹y_o/n) (Arora et al. 2019, Thm 5.1's data-dependent term);
                             NAN when G is numerically singular (λ_min <= n·ε·λ_max) */
} ntkc_spectrum_result;

/* The eigendecomposition of the training kernel of x (n×dim rows as
 * ntkc_kernel takes them; graph nets take ntkc_spectrum_graphs) and, with targets y (n×k, or NULL),
 * what it means for training. res is filled (free with
 * ntkc_spectrum_result_free, also after an error). Returns 0 or the code. */
int ntkc_spectrum(const ntkc_net *net, size_t n, const double *x, size_t dim, const double *y, size_t k,
                  const ntkc_spectrum_options *opts, ntkc_spectrum_result *res, ntkc_error *err);
/* The same for a graph net on the n = ntkc_graphs_count(graphs) graphs
 * (y: n×k or NULL), with the kernel of ntkc_kernel_graphs. */
int ntkc_spectrum_graphs(const ntkc_net *net, const ntkc_graphs *graphs, const double *y, size_t k,
                         const ntkc_spectrum_options *opts, ntkc_spectrum_result *res, ntkc_error *err);
/* The same on a kernel matrix g (n×n, symmetric, row-major) already computed. */
int ntkc_spectrum_of_kernel(size_t n, const double *g, const double *y, size_t k,
                            const ntkc_spectrum_options *opts, ntkc_spectrum_result *res, ntkc_error *err);
void ntkc_spectrum_result_free(ntkc_spectrum_result *res);
/* L(t) from a full spectrum with targets (NAN otherwise): the loss curve at
 * any time t >= 0, as res->loss holds it at opts.times. */
double ntkc_spectrum_loss(const ntkc_spectrum_result *res, double t);

/* Finite-width networks trained next to the kernel's prediction. */
typedef enum ntkc_parameterization {
    NTKC_PARAM_NTK = 0, /* the NTK parameterization (the lazy regime as width grows) */
    NTKC_PARAM_MUP = 1  /* the maximal-update (mean-field) parameterization of Yang & Hu 2021, one
                           learning rate for every layer (abc-form, c = 0): features and the empirical
                           NTK keep moving at every width. runtime/finite/finite_net.h has its scalings. */
} ntkc_parameterization;

typedef struct ntkc_train_options {
    const size_t *widths; /* nwidths hidden widths */
    size_t nwidths;
    size_t seeds;         /* initialisations per width (>= 2 for a covariance) */
    unsigned long long seed;
    double lr;            /* learning rate of gradient descent on L = ‖f − Y‖²/(2N) */
    size_t steps;
    size_t checkpoints;   /* recorded times besides t = 0: steps·c/checkpoints, c = 1..; 0 = 10 */
    ntkc_parameterization param;
    int linearized;       /* also train each net's linearisation around its initialisation
                             (neural-tangents' linearize), and record ‖f − f_lin‖ */
    ntkc_eval_options eval; /* for the infinite-width prediction's kernels */
    /* Appended (zero = MSE without momentum, as before): the loss and
     * heavy-ball momentum of the finite nets' gradient descent (v ← μ·v −
     * lr·∇θL, θ ← θ + v). With either, each net is compared with the
     * infinite-width training ODE from its own initial outputs
     * (ntkc_predict with fx0, runtime/predict/predict_ode.c): mean_dist
     * becomes √(Σ_s ‖f_s − f_s^ODE‖²/Σ_s ‖f_s^ODE‖²) on the test inputs,
     * mean_z, cov_dist and the infinite ensemble's losses NAN. */
    ntkc_predict_loss loss;
    int momentum_on;
    double momentum;        /* μ in [0, 1), with momentum_on */
} ntkc_train_options;

/* Arrays indexed [w·T + c] for width w and recorded time c < T = checkpoints + 1;
 * times[c] = lr·step_c. Losses are means over seeds of L on each set. */
typedef struct ntkc_train_result {
    size_t nwidths, ntimes, m, k;
    double *times;
    double *train_loss, *test_loss;
    double *kernel_move;  /* ‖Θ̂_t − Θ̂_0‖_F/‖Θ̂_0‖_F on the training inputs, mean over seeds; Θ̂ is the
                             empirical NTK averaged over the k output units */
    double *lin_dist;     /* RMS over seeds and test entries of f_t − f_lin,t (NAN unless linearized) */
    /* Against the infinite-width NTK prediction (NTKC_PARAM_NTK only, else NAN): */
    double *mean_dist;    /* ‖mean_seeds f_t(Xt) − μ_t‖_F / ‖μ_t‖_F (μ: ntkc_predict's mean; NAN at t = 0) */
    double *mean_z;       /* √(mean over entries of (f̄ − μ)²/(C_ii/seeds)): 1 ± O(1/√(m·k)) when only
                             sampling noise separates them */
    double *cov_dist;     /* ‖Ĉ_t − C_t‖_F/‖C_t‖_F, Ĉ the covariance over seeds (pooled over outputs) */
    double *cov_floor;    /* what cov_dist is from sampling alone: √((‖C‖_F² + (tr C)²)/(ν·‖C‖_F²)),
                             ν = k·(seeds − 1) (the Wishart variance of Ĉ) */
    double *inf_train_loss, *inf_test_loss; /* T: the expected loss of the infinite ensemble,
                             (‖μ − Y‖² + k·tr C)/(2·rows·k) (NAN for muP) */
    /* Log-log least-squares slopes against width at the last time (NAN when < 2 widths): */
    double slope_kernel_move, slope_lin_dist, slope_mean_dist;
    /* Appended: for a net with dropout (train mode), what the infinite-width
     * columns compare with (a static string, README "Training dynamics"),
     * else NULL. The nets train with fresh masks every step and are
     * evaluated without dropout. */
    const char *dropout_note;
} ntkc_train_result;

/* Trains opts->seeds networks per width by full-batch gradient descent on
 * (x_train, y_train) (n×dim, n×k), evaluating on x_test (m×dim, m >= 1) and,
 * for the test losses, y_test (m×k, or NULL: test losses NAN). Every net of
 * vectors or images: fully connected nets, and image and branching nets (conv,
 * pooling, flatten, layer_norm, fanouts) as `ntkc check`'s finite networks
 * build them, with a readout of k units; graph nets take
 * ntkc_train_finite_graphs. NTKC_PARAM_MUP refuses, naming the layer, a net
 * where μP's scalings are not defined (a fan-in mixing the input's features
 * with hidden ones; a readout with no hidden layer before it). User errors: widths of 0, lr <= 0 or
 * non-finite, fewer than 2 seeds, non-finite data, diverging training (the
 * message names the width, seed and step). res is filled (free with
 * ntkc_train_result_free, also after an error). Returns 0 or the code. */
int ntkc_train_finite(const ntkc_net *net, size_t n, const double *x_train, const double *y_train, size_t k,
                      size_t m, const double *x_test, const double *y_test, size_t dim, const ntkc_train_options *opts,
                      ntkc_train_result *res, ntkc_error *err);
/* ntkc_train_finite for a graph net (finite_graph.h's networks): trained on
 * the n = ntkc_graphs_count(train) graphs with targets y_train (n×k),
 * evaluated on the m = ntkc_graphs_count(test) graphs (y_test m×k or NULL);
 * options and result exactly as ntkc_train_finite. */
int ntkc_train_finite_graphs(const ntkc_net *net, const ntkc_graphs *train, const double *y_train, size_t k,
                             const ntkc_graphs *test, const double *y_test, const ntkc_train_options *opts,
                             ntkc_train_result *res, ntkc_error *err);
void ntkc_train_result_free(ntkc_train_result *res);

#ifdef __cplusplus
}
#endif
#endif
