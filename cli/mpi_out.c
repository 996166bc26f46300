#include "mpi_out.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi_util.h"
#include "ntkc_tool.h"

enum { PATH_CAP = 4096 };

struct MpiOut {
    MPI_File fh;   /* opened by every rank of the communicator: collective writes */
    MPI_File self; /* this rank's own handle (MPI_COMM_SELF), opened at its first tile: a tile's file view */
    int has_self;
    char path[PATH_CAP], tmp[PATH_CAP];
    MPI_Offset data_offset;
    size_t n1, n2; /* the output as rows × columns: n2 = the last dimension */
    MPI_Datatype elem; /* MPI_DOUBLE ('<f8'), or MPI_FLOAT ('<f4', --precision single) */
    size_t esz;        /* its size in bytes */
    double bytes, calls; /* written by this rank, and in how many write calls */
    int failed; /* a write of this rank failed */
    int slot;   /* rank 0: the temp's registration for removal on a signal */
};

/* Rank 0: the temp file "<dir>/.ntkc-<pid>-<random>.tmp" (temp_file_create:
 * removed on SIGINT/SIGTERM, stale ones recognised) with the header in it. */
/* Rank 0: removes the temp and its registration. */
static void forget_unlink(MpiOut *o)
{
    temp_files_forget(o->slot);
    o->slot = -1;
    unlink(o->tmp);
}

static int create_temp(MpiOut *o, int ndim, const size_t *shape, ntkc_error *err)
{
    if (npy_check_output(o->path, err) != 0)
        return err->code;
    const char *slash = strrchr(o->path, '/');
    char dir[PATH_CAP];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - o->path + 1) : 0, o->path);
    int fd = temp_file_create(dir, ".tmp", 0666, o->tmp, sizeof o->tmp, &o->slot);
    if (fd < 0) {
        err_file(err, o->path, "cannot write output: %s", strerror(errno));
        return err->code;
    }
    char header[NPY_WRITE_HEADER_MAX];
    size_t len = npy_header_format_esz(header, sizeof header, ndim, shape, o->esz);
    int ok = write(fd, header, len) == (ssize_t)len;
    ok &= close(fd) == 0;
    if (!ok) {
        err_file(err, o->path, "cannot write output: %s", strerror(errno ? errno : EIO));
        forget_unlink(o);
        return err->code;
    }
    o->data_offset = (MPI_Offset)len;
    return 0;
}

static void mpi_error(const char *path, const char *what, int code, ntkc_error *err)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, msg, &len);
    err_file(err, path, "cannot write output: %s: %.*s", what, len, msg);
}

static int create(MPI_Comm comm, const char *path, int ndim, const size_t *shape, int single, MpiOut **out,
                  ntkc_error *err)
{
    *out = NULL;
    if (path == NULL)
        return 0;
    int rank;
    MPI_Comm_rank(comm, &rank);
    MpiOut *o = calloc(1, sizeof *o);
    int rc = 0;
    if (o == NULL)
        err_internal(err, "out of memory"), rc = err->code;
    else if (strlen(path) >= sizeof o->path)
        err_file(err, path, "cannot write output: path too long"), rc = err->code;
    else
        snprintf(o->path, sizeof o->path, "%s", path);
    if (o != NULL) {
        o->slot = -1;
        o->elem = single ? MPI_FLOAT : MPI_DOUBLE;
        o->esz = single ? sizeof(float) : sizeof(double);
    }
    size_t n1 = 1, n2 = ndim > 0 ? shape[ndim - 1] : 1;
    for (int d = 0; d + 1 < ndim; d++)
        n1 *= shape[d];
    if (rc == 0 && (n1 > INT_MAX || n2 > INT_MAX))
        err_file(err, path, "cannot write output: %zu x %zu entries exceed MPI-IO's 32-bit counts", n1, n2),
            rc = err->code;
    if (rc == 0 && rank == 0)
        rc = create_temp(o, ndim, shape, err);
    int made = rank == 0 && rc == 0; /* rank 0's temp exists even when another rank failed */
    if ((rc = mpi_agree(comm, rc, err)) != 0) {
        if (made)
            forget_unlink(o);
        free(o);
        return rc;
    }
    MPI_Bcast(o->tmp, (int)sizeof o->tmp, MPI_CHAR, 0, comm);
    long long off = o->data_offset;
    MPI_Bcast(&off, 1, MPI_LONG_LONG, 0, comm);
    o->data_offset = off;
    o->n1 = n1, o->n2 = n2;
    int code = MPI_File_open(comm, o->tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &o->fh);
    if (code != MPI_SUCCESS) {
        mpi_error(path, "open", code, err);
        rc = err->code;
    }
    if ((rc = mpi_agree(comm, rc, err)) != 0) {
        if (code == MPI_SUCCESS)
            MPI_File_close(&o->fh);
        if (rank == 0)
            forget_unlink(o);
        free(o);
        return rc;
    }
    *out = o;
    return 0;
}

int mpi_out_create(MPI_Comm comm, const char *path, int ndim, const size_t *shape, MpiOut **out, ntkc_error *err)
{
    return create(comm, path, ndim, shape, 0, out, err);
}

int mpi_out_create_f32(MPI_Comm comm, const char *path, int ndim, const size_t *shape, MpiOut **out,
                       ntkc_error *err)
{
    return create(comm, path, ndim, shape, 1, out, err);
}

/* A failed write: kept for mpi_out_finish, err set. */
static int write_failed(MpiOut *o, int code, ntkc_error *err)
{
    o->failed = 1;
    if (code != MPI_SUCCESS)
        mpi_error(o->path, "write", code, err);
    else
        err_file(err, o->path, "cannot write output: short write (disk full?)");
    return -1;
}

/* Whether this rank may write: no earlier failure, and not failed on purpose
 * by the test hook (which then counts as a failed write). */
static int may_write(MpiOut *o, ntkc_error *err)
{
    if (o->failed) {
        err_file(err, o->path, "cannot write output: an earlier write failed");
        return 0;
    }
    if (mpi_test_fail(MPI_COMM_WORLD, "write")) {
        o->failed = 1;
        err_file(err, o->path, "cannot write output: write failed (NTKC_MPI_TEST_FAIL)");
        return 0;
    }
    return 1;
}

/* Independent writes go through this rank's own handle, whose file view
 * (collective over MPI_COMM_SELF only) is set per tile. */
static int open_self(MpiOut *o, ntkc_error *err)
{
    if (o->has_self)
        return 0;
    int code = MPI_File_open(MPI_COMM_SELF, o->tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &o->self);
    if (code != MPI_SUCCESS) {
        o->failed = 1;
        mpi_error(o->path, "open", code, err);
        return -1;
    }
    o->has_self = 1;
    return 0;
}

int mpi_out_write(MpiOut *o, size_t i0, size_t r, size_t j0, size_t c, const void *buf, size_t ld,
                  ntkc_error *err)
{
    if (!may_write(o, err))
        return -1;
    if (r == 0 || c == 0)
        return 0;
    if (i0 + r > o->n1 || j0 + c > o->n2 || ld < c || ld > INT_MAX) {
        err_internal(err, "%s: tile [%zu, %zu) x [%zu, %zu) outside the %zu x %zu output", o->path, i0, i0 + r, j0,
                      j0 + c, o->n1, o->n2);
        o->failed = 1;
        return -1;
    }
    if (open_self(o, err) != 0)
        return -1;
    /* The tile's place in the file (a subarray of the n1 × n2 rows) and in
     * memory (r rows of c at stride ld): one write for the whole tile. */
    int sizes[2] = {(int)o->n1, (int)o->n2}, sub[2] = {(int)r, (int)c}, starts[2] = {(int)i0, (int)j0};
    MPI_Datatype file_type, mem_type;
    MPI_Type_create_subarray(2, sizes, sub, starts, MPI_ORDER_C, o->elem, &file_type);
    MPI_Type_vector((int)r, (int)c, (int)ld, o->elem, &mem_type);
    MPI_Type_commit(&file_type);
    MPI_Type_commit(&mem_type);
    int code = MPI_File_set_view(o->self, o->data_offset, o->elem, file_type, "native", MPI_INFO_NULL), count = 0;
    MPI_Status st;
    if (code == MPI_SUCCESS)
        code = MPI_File_write(o->self, buf, 1, mem_type, &st);
    if (code == MPI_SUCCESS)
        MPI_Get_elements(&st, o->elem, &count);
    MPI_Type_free(&file_type);
    MPI_Type_free(&mem_type);
    o->calls += 1;
    if (code != MPI_SUCCESS || (size_t)count != r * c)
        return write_failed(o, code, err);
    o->bytes += (double)(r * c) * (double)o->esz;
    return 0;
}

int mpi_out_write_cyclic(MpiOut *o, size_t slot, const MpiCyclic *m, const double *local, ntkc_error *err)
{
    int ok = may_write(o, err), count = 0, code = MPI_SUCCESS;
    if (ok && o->elem != MPI_DOUBLE) {
        err_internal(err, "%s: a block-cyclic matrix into a float32 output", o->path);
        o->failed = 1, ok = 0;
    }
    int gsizes[2] = {m->n, m->n}, distribs[2] = {MPI_DISTRIBUTE_CYCLIC, MPI_DISTRIBUTE_CYCLIC};
    int dargs[2] = {m->nb, m->nb}, psizes[2] = {m->pr, m->pc};
    size_t mine = (size_t)m->lr * (size_t)m->lc;
    if (ok && (slot + 1) * (size_t)m->n > o->n1) {
        err_internal(err, "%s: slot %zu of %d x %d outside the output", o->path, slot, m->n, m->n);
        o->failed = 1, ok = 0;
    }
    /* The symmetric matrix's column-major local parts are those of the
     * row-major file: a Fortran-order darray over the BLACS grid (row-major
     * ranks, as darray numbers them) describes this rank's entries. */
    MPI_Datatype file_type;
    MPI_Type_create_darray(m->pr * m->pc, m->row * m->pc + m->col, 2, gsizes, distribs, dargs, psizes,
                           MPI_ORDER_FORTRAN, MPI_DOUBLE, &file_type);
    MPI_Type_commit(&file_type);
    MPI_Offset at = o->data_offset + (MPI_Offset)(slot * (size_t)m->n * (size_t)m->n * sizeof(double));
    code = MPI_File_set_view(o->fh, at, MPI_DOUBLE, file_type, "native", MPI_INFO_NULL);
    MPI_Status st;
    /* Collective: a rank that may not write still takes part, with nothing. */
    int want = ok && code == MPI_SUCCESS ? (int)mine : 0;
    int wcode = MPI_File_write_all(o->fh, local, want, MPI_DOUBLE, &st);
    if (wcode == MPI_SUCCESS)
        MPI_Get_elements(&st, MPI_DOUBLE, &count);
    MPI_Type_free(&file_type);
    o->calls += 1;
    if (!ok)
        return -1;
    if (code != MPI_SUCCESS || wcode != MPI_SUCCESS || count != want)
        return write_failed(o, code != MPI_SUCCESS ? code : wcode, err);
    o->bytes += (double)mine * sizeof(double);
    return 0;
}

double mpi_out_bytes(const MpiOut *o) { return o ? o->bytes : 0; }

double mpi_out_calls(const MpiOut *o) { return o ? o->calls : 0; }

int mpi_out_finish(MPI_Comm comm, MpiOut **outs, int n, int rc, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (int k = 0; k < n; k++)
        if (outs[k] != NULL) {
            /* The test hook fails the rank even when it happened to get no tile. */
            if (rc == 0 && mpi_test_fail(comm, "write")) {
                err_file(err, outs[k]->path, "cannot write output: write failed (NTKC_MPI_TEST_FAIL)");
                rc = err->code;
            }
            int code = outs[k]->has_self ? MPI_File_close(&outs[k]->self) : MPI_SUCCESS;
            int code2 = MPI_File_close(&outs[k]->fh);
            code = code != MPI_SUCCESS ? code : code2;
            if (code != MPI_SUCCESS && rc == 0) {
                mpi_error(outs[k]->path, "close", code, err);
                rc = err->code;
            }
        }
    rc = mpi_agree(comm, rc, err);
    if (rank == 0) { /* every output in place, or none (the old files back) */
        char *tmps[8];
        const char *paths[8];
        int slots[8];
        size_t count = 0;
        for (int k = 0; k < n; k++)
            if (outs[k] != NULL && count == 8) { /* out_replace_all's limit; callers have two */
                err_internal(err, "mpi_out_finish: more than 8 outputs");
                rc = rc ? rc : err->code;
                forget_unlink(outs[k]);
            } else if (outs[k] != NULL) {
                tmps[count] = outs[k]->tmp, paths[count] = outs[k]->path, slots[count] = outs[k]->slot;
                outs[k]->slot = -1;
                count++;
            }
        if (rc == 0 && out_replace_all(tmps, slots, paths, count, err) != 0)
            rc = err->code ? err->code : 2;
        else if (rc != 0)
            for (size_t k = 0; k < count; k++) {
                temp_files_forget(slots[k]);
                unlink(tmps[k]);
            }
    }
    rc = mpi_agree(comm, rc, err);
    for (int k = 0; k < n; k++)
        free(outs[k]);
    return rc;
}
