/* ntkc-mpi kernel: `ntkc kernel` with the output tiles spread over the ranks.
 *
 * Every rank compiles the net and reads the inputs itself from the shared
 * file system: the inputs are n·d values against the output's n², every
 * rank needs all of them (any tile may pair any two rows), and a graph set
 * is a linked structure that would have to be flattened to be broadcast;
 * reading is cheap next to the kernel, and the per-input checks and records
 * come out the same on every rank (deterministic code on identical bytes).
 *
 * Scheduling is dynamic: a counter on rank 0, exposed through an MPI window,
 * hands out the engine's tiles in order; each OpenMP thread of each rank
 * takes the next with MPI_Fetch_and_op, computes it with the engine
 * (ntkc_tiles_* in runtime/tool/ntkc_tool.h) and writes it, and its mirror image when x2 = x1,
 * straight into the output file with MPI-IO. A rank that fails moves the
 * counter past the end so the others stop early; the error is then agreed
 * (mpi_agree) and no output appears. MPI is called from one thread at a time
 * (MPI_THREAD_SERIALIZED, one critical section). */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "kernel_inputs.h"
#include "masks.h"
#include "mpi_cmds.h"
#include "mpi_out.h"
#include "mpi_util.h"
#include "ntkc_tool.h"

static const char help[] =
    "usage: mpirun -np P ntkc-mpi kernel NET.ntk X1.npy [X2.npy] [--ntk K.npy] [--nngp S.npy]\n"
    "                   [--net NAME] [--backend tcc|cc] [--threads N] [--tile E] [--quiet]\n"
    "                   [--precision double|single] [--dropout-mixed]\n"
    "                   [--mask M1.npy | --lengths L1.npy] [--mask2 M2.npy | --lengths2 L2.npy]\n"
    "\n"
    "ntkc kernel over MPI: the output's tiles (E × E entries; default the\n"
    "engine's) are shared dynamically among the ranks, each using N threads,\n"
    "and written by every rank into the one output with MPI-IO. The result is\n"
    "bit for bit that of ntkc kernel, in either precision (--precision single:\n"
    "float32 arithmetic and '<f4' outputs, for the nets ntkc kernel runs in\n"
    "float32). Every rank reads the inputs (a shared\n"
    "file system). Outputs appear only when every rank succeeded. Prints the\n"
    "summary and the work of each rank unless --quiet. --dropout-mixed: X1 in\n"
    "eval mode against X2 under their own masks, as ntkc kernel --dropout-mixed\n"
    "(not symmetric; float64 only).\n";

typedef struct KArgs {
    const char *net_name, *ntk, *nngp, *backend, *threads, *tile, *quiet, *precision, *mixed;
    const char *mask[2], *lengths[2]; /* padding of X1, X2 (masks.h), as ntkc kernel */
} KArgs;

/* This rank's share, gathered on rank 0 for the summary. */
enum { ST_TILES, ST_ENTRIES, ST_BUSY, ST_WRITE, ST_BYTES, ST_CALLS, ST_FETCHES, ST_DIAG_NTK, ST_DIAG_NNGP, ST_COUNT };

typedef struct Run {
    MPI_Comm comm;
    MPI_Win win;
    const ntkc_tiles *tiles;
    MpiOut *ntk, *nngp;
    size_t ntasks, edge;
    size_t esz; /* bytes per output entry: 8, or 4 for a float32 net */
    int symmetric, threads, mixed;
    double st[ST_COUNT];
    int rc; /* the first failure of this rank */
    ntkc_error err;
} Run;

/* The next tile for this thread, or ntasks when there is none. */
static size_t next_tile(Run *R)
{
    uint64_t one = 1, got = 0;
#pragma omp critical(ntkc_mpi)
    {
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, R->win);
        MPI_Fetch_and_op(&one, &got, MPI_UINT64_T, 0, 0, MPI_SUM, R->win);
        MPI_Win_unlock(0, R->win);
        R->st[ST_FETCHES] += 1;
    }
    return got < R->ntasks ? (size_t)got : R->ntasks;
}

/* After a failure: no rank takes another tile. */
static void stop_everyone(Run *R)
{
    uint64_t end = R->ntasks, old;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, R->win);
    MPI_Fetch_and_op(&end, &old, MPI_UINT64_T, 0, 0, MPI_REPLACE, R->win);
    MPI_Win_unlock(0, R->win);
}

/* t = aᵀ for r × c entries of esz bytes. */
static void transpose(const unsigned char *a, size_t r, size_t c, size_t esz, unsigned char *t)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++)
            memcpy(t + (j * r + i) * esz, a + (i * c + j) * esz, esz);
}

/* Writes a computed tile (and its mirror image); caller holds the lock. */
static int write_tile(Run *R, const ntkc_tile *T, unsigned char *bufs[2], unsigned char *scratch, ntkc_error *err)
{
    MpiOut *outs[2] = {R->nngp, R->ntk};
    for (int k = 0; k < 2; k++) {
        if (outs[k] == NULL)
            continue;
        if (mpi_out_write(outs[k], T->i0, T->r, T->j0, T->c, bufs[k], T->c, err) != 0)
            return err->code;
        if (R->symmetric && !T->diagonal) {
            transpose(bufs[k], T->r, T->c, R->esz, scratch);
            if (mpi_out_write(outs[k], T->j0, T->c, T->i0, T->r, scratch, T->r, err) != 0)
                return err->code;
        }
    }
    return 0;
}

/* Σ of the tile's entries on the output's diagonal (for the summary). */
static double diagonal_sum(const ntkc_tile *T, const unsigned char *buf, size_t esz)
{
    double s = 0;
    if (buf != NULL)
        for (size_t i = 0; i < T->r; i++)
            if (T->i0 + i >= T->j0 && T->i0 + i < T->j0 + T->c) {
                size_t at = i * T->c + (T->i0 + i - T->j0);
                s += esz == sizeof(float) ? (double)((const float *)(const void *)buf)[at]
                                          : ((const double *)(const void *)buf)[at];
            }
    return s;
}

/* The tile in the net's precision. */
static int run_tile(const Run *R, size_t t, unsigned char *bufs[2], ntkc_error *err)
{
    if (R->esz == sizeof(float))
        return ntkc_tiles_run_f32(R->tiles, t, (float *)(void *)bufs[0], (float *)(void *)bufs[1], err);
    return ntkc_tiles_run(R->tiles, t, (double *)(void *)bufs[0], (double *)(void *)bufs[1], err);
}

static void fail(Run *R, int rc, const ntkc_error *err)
{
#pragma omp critical(ntkc_mpi)
    {
        if (R->rc == 0) {
            R->rc = rc;
            R->err = *err;
            stop_everyone(R);
        }
    }
}

static void work(Run *R)
{
    size_t cap = R->edge * R->edge;
#pragma omp parallel num_threads(R->threads)
    {
        unsigned char *buf = malloc(3 * cap * R->esz);
        unsigned char *bufs[2] = {R->nngp ? buf : NULL, R->ntk ? buf + cap * R->esz : NULL};
        ntkc_error err = {0};
        if (buf == NULL) {
            err_internal(&err, "out of memory for tile buffers of %zu entries", cap);
            fail(R, err.code, &err);
        }
        for (size_t t; buf != NULL && (t = next_tile(R)) < R->ntasks;) {
            ntkc_tile T = ntkc_tiles_at(R->tiles, t);
            double start = omp_get_wtime();
            int rc = run_tile(R, t, bufs, &err);
            double busy = omp_get_wtime() - start;
            if (rc != 0) {
                fail(R, rc, &err);
                break;
            }
#pragma omp critical(ntkc_mpi)
            {
                double w0 = omp_get_wtime();
                rc = write_tile(R, &T, bufs, buf + 2 * cap * R->esz, &err);
                R->st[ST_WRITE] += omp_get_wtime() - w0;
                R->st[ST_TILES] += 1;
                R->st[ST_ENTRIES] += (double)(T.diagonal ? T.r * (T.r + 1) / 2 : T.r * T.c);
                R->st[ST_BUSY] += busy;
                R->st[ST_DIAG_NTK] += diagonal_sum(&T, bufs[1], R->esz);
                R->st[ST_DIAG_NNGP] += diagonal_sum(&T, bufs[0], R->esz);
            }
            if (rc != 0) {
                fail(R, rc, &err);
                break;
            }
        }
        free(buf);
    }
}

/* Rank 0: the summary line of ntkc kernel, then one line per rank. */
static void summarise(Run *R, const ntkc_net *net, size_t n1, size_t n2, double seconds, int ntk, int nngp)
{
    int rank, size;
    MPI_Comm_rank(R->comm, &rank);
    MPI_Comm_size(R->comm, &size);
    double *all = rank == 0 ? malloc((size_t)size * ST_COUNT * sizeof *all) : NULL;
    MPI_Gather(R->st, ST_COUNT, MPI_DOUBLE, all, ST_COUNT, MPI_DOUBLE, 0, R->comm);
    if (rank != 0 || all == NULL)
        return;
    double dn = 0, ds = 0, busy_max = 0, busy_sum = 0;
    for (int r = 0; r < size; r++) {
        dn += all[r * ST_COUNT + ST_DIAG_NTK], ds += all[r * ST_COUNT + ST_DIAG_NNGP];
        double b = all[r * ST_COUNT + ST_BUSY];
        busy_sum += b, busy_max = b > busy_max ? b : busy_max;
    }
    double nd = (double)(n1 < n2 ? n1 : n2);
    printf("%s: %zu x %zu %s%s%s in %.3f s on %d ranks", ntkc_net_name(net), n1, n2, ntk ? "NTK" : "",
           ntk && nngp ? " + " : "", nngp ? "NNGP" : "", seconds, size);
    if (ntk)
        printf("; NTK diagonal mean %.6g", dn / nd);
    if (nngp)
        printf("; NNGP diagonal mean %.6g", ds / nd);
    if (R->mixed)
        printf(" (dropout-mixed: X1 in eval mode, X2 under masks)");
    printf("\n%zu tiles of edge %zu; work balance (max/mean busy) %.3f\n", R->ntasks, R->edge,
           busy_sum > 0 ? busy_max / (busy_sum / size) : 1.0);
    for (int r = 0; r < size; r++) {
        const double *s = all + r * ST_COUNT;
        /* Every fetch moves 8 bytes each way. */
        printf("rank %d: %.0f tiles, %.0f entries, busy %.3f s, wrote %.0f bytes in %.3f s (%.0f write calls), "
               "%.0f counter fetches (%.0f bytes)\n",
               r, s[ST_TILES], s[ST_ENTRIES], s[ST_BUSY], s[ST_BYTES], s[ST_WRITE], s[ST_CALLS], s[ST_FETCHES],
               16 * s[ST_FETCHES]);
    }
    free(all);
}

static int compute(MPI_Comm comm, const ntkc_net *net, const KernelInputs *in, const KArgs *a, long threads, long tile,
                   double t0, ntkc_error *err)
{
    int size;
    MPI_Comm_size(comm, &size);
    int nthreads = threads > 0 ? (int)threads : omp_get_max_threads();
    ntkc_tiles *tiles;
    if (a->mixed) /* never symmetric: X1 in eval mode, X2 (X1 when not given) under masks */
        tiles = in->g1 ? ntkc_tiles_graphs_dropout(net, NTKC_TILES_MIXED, in->g1, in->g2, (size_t)tile, nthreads, err)
                       : ntkc_tiles_matrix_dropout(net, NTKC_TILES_MIXED, in->n1, in->x1.data, in->n2, in->x2.data,
                                                   in->x1.shape[1], (size_t)tile, nthreads, nthreads * size, err);
    else
        tiles = in->g1 ? ntkc_tiles_graphs(net, in->g1, in->g2, (size_t)tile, nthreads, err)
                       : ntkc_tiles_matrix(net, in->n1, in->x1.data, in->n2, in->x2.data, in->x1.shape[1],
                                           (size_t)tile, nthreads, nthreads * size, err);
    int rc = mpi_agree(comm, tiles ? 0 : err->code, err);
    int single = ntkc_net_precision(net) == NTKC_PRECISION_SINGLE;
    Run R = {.comm = comm, .tiles = tiles, .symmetric = !a->mixed && (in->g1 ? in->g2 == NULL : in->x2.data == NULL),
             .threads = nthreads, .mixed = a->mixed != NULL, .esz = single ? sizeof(float) : sizeof(double)};
    size_t shape[2] = {in->n1, in->n2};
    int (*create)(MPI_Comm, const char *, int, const size_t *, MpiOut **, ntkc_error *) =
        single ? mpi_out_create_f32 : mpi_out_create;
    if (rc == 0)
        rc = create(comm, a->ntk, 2, shape, &R.ntk, err);
    if (rc == 0 && (rc = create(comm, a->nngp, 2, shape, &R.nngp, err)) != 0) {
        MpiOut *outs[1] = {R.ntk};
        mpi_out_finish(comm, outs, 1, rc, err);
    }
    if (rc != 0) {
        ntkc_tiles_free(tiles);
        return rc;
    }
    R.ntasks = ntkc_tiles_count(tiles);
    ntkc_tile first = ntkc_tiles_at(tiles, 0);
    R.edge = first.r > first.c ? first.r : first.c;
    uint64_t *counter;
    int rank;
    MPI_Comm_rank(comm, &rank);
    MPI_Win_allocate(rank == 0 ? sizeof *counter : 0, sizeof *counter, MPI_INFO_NULL, comm, &counter, &R.win);
    if (rank == 0)
        *counter = 0;
    MPI_Barrier(comm); /* the counter is set before anyone takes from it */
    work(&R);
    MPI_Barrier(comm);
    MPI_Win_free(&R.win);
    if (R.rc != 0)
        *err = R.err;
    MpiOut *outs[2] = {R.ntk, R.nngp};
    R.st[ST_BYTES] = mpi_out_bytes(R.ntk) + mpi_out_bytes(R.nngp);
    R.st[ST_CALLS] = mpi_out_calls(R.ntk) + mpi_out_calls(R.nngp);
    rc = mpi_out_finish(comm, outs, 2, R.rc, err);
    double seconds = MPI_Wtime() - t0;
    if (rc == 0 && !a->quiet) /* collective: every rank sends its share */
        summarise(&R, net, in->n1, in->n2, seconds, a->ntk != NULL, a->nngp != NULL);
    ntkc_tiles_free(tiles);
    return rc;
}

static int run(MPI_Comm comm, const Args *args, const KArgs *a, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    double t0 = MPI_Wtime();
    ntkc_backend backend;
    ntkc_precision precision = NTKC_PRECISION_DOUBLE;
    int quiet = mpi_quiet_begin(comm);
    int rc = parse_backend("kernel", a->backend, &backend) != 0 ||
             parse_precision("kernel", a->precision, &precision) != 0;
    long threads = rc == 0 && a->threads ? args_count("kernel", "--threads", a->threads, ARGS_MAX_THREADS) : 0;
    long tile = rc == 0 && a->tile ? args_positive("kernel", "--tile", a->tile) : 0;
    mpi_quiet_end(quiet);
    rc = rc || threads < 0 || tile < 0;
    const char *paths[2] = {args->positional[1], args->npositional > 2 ? args->positional[2] : NULL};
    const char *read[7] = {paths[0], paths[1], args->positional[0], a->mask[0], a->mask[1], a->lengths[0],
                           a->lengths[1]};
    if (rc == 0 && ((a->ntk && check_output_not_input(a->ntk, read, 7, err)) ||
                    (a->nngp && check_output_not_input(a->nngp, read, 7, err))))
        rc = err->code;
    for (int k = 0; rc == 0 && k < 2; k++)
        if (a->mask[k] && a->lengths[k])
            err_user(err, "give --mask%s or --lengths%s, not both", k ? "2" : "", k ? "2" : ""), rc = err->code;
    if (rc == 0 && a->mixed && precision == NTKC_PRECISION_SINGLE) /* ntkc kernel's refusal */
        err_user(err, "--dropout-mixed is computed in double precision only: drop --precision single"), rc = err->code;
    if (rc == 0 && a->ntk && a->nngp && strcmp(a->ntk, a->nngp) == 0)
        err_user(err, "--ntk and --nngp name the same file %s", a->ntk), rc = err->code;
    ntkc_net *net = NULL;
    if (rc == 0) {
        ntkc_compile_options copts = {.net_name = a->net_name, .backend = backend, .precision = precision};
        net = ntkc_compile_file(args->positional[0], &copts, err);
        rc = net ? 0 : err->code;
    }
    KernelInputs in = {0};
    if (rc == 0)
        rc = kernel_inputs_load(net, paths, a->quiet != NULL || rank != 0, &in, err);
    if (rc == 0)
        rc = apply_mask_file(net, &in.x1, paths[0], a->mask[0], a->lengths[0], err);
    if (rc == 0 && (a->mask[1] || a->lengths[1]) && !in.second)
        err_user(err, "--mask2/--lengths2 need a second input X2.npy"), rc = err->code;
    if (rc == 0 && in.second)
        rc = apply_mask_file(net, &in.x2, paths[1], a->mask[1], a->lengths[1], err);
    if (rc == 0 && mpi_test_fail(comm, "input"))
        err_file(err, paths[0], "cannot read (NTKC_MPI_TEST_FAIL)"), rc = err->code;
    rc = mpi_agree(comm, rc, err);
    if (rc == 0)
        rc = compute(comm, net, &in, a, threads, tile, t0, err);
    kernel_inputs_free(&in);
    ntkc_net_free(net);
    return rc;
}

int mpi_cmd_kernel(MPI_Comm comm, int argc, char **argv)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    KArgs a = {0};
    const OptSpec specs[] = {{"--ntk", 1, &a.ntk},         {"--nngp", 1, &a.nngp},       {"--net", 1, &a.net_name},
                             {"--backend", 1, &a.backend}, {"--threads", 1, &a.threads}, {"--tile", 1, &a.tile},
                             {"--quiet", 0, &a.quiet},     {"--precision", 1, &a.precision},
                             {"--mask", 1, &a.mask[0]},    {"--mask2", 1, &a.mask[1]},
                             {"--lengths", 1, &a.lengths[0]}, {"--lengths2", 1, &a.lengths[1]},
                             {"--dropout-mixed", 0, &a.mixed}, {NULL, 0, NULL}};
    Args args;
    int quiet = mpi_quiet_begin(comm);
    int bad = args_parse("kernel", argc, argv, specs, &args) != 0;
    mpi_quiet_end(quiet);
    if (!bad && args.help) {
        if (rank == 0)
            fputs(help, stdout);
        return 0;
    }
    if (!bad && (args.npositional < 2 || args.npositional > 3 || (!a.ntk && !a.nngp))) {
        if (rank == 0) {
            fputs(help, stderr);
            fprintf(stderr, "\nntkc kernel: %s\n",
                    args.npositional < 2 ? "needs NET.ntk and X1.npy"
                    : args.npositional > 3 ? "too many arguments"
                                           : "give --ntk and/or --nngp");
        }
        bad = 1;
    }
    if (bad)
        return 1;
    ntkc_error err = {0};
    int rc = run(comm, &args, &a, &err);
    return rc == 0 ? 0 : mpi_report(comm, &err);
}
