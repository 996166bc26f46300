#include "mpi_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi_util.h"
#include "npy.h"
#include "npy_header.h"

enum { PATH_CAP = 4096 };

struct MpiOut {
    MPI_File fh;
    char path[PATH_CAP], tmp[PATH_CAP];
    MPI_Offset data_offset;
    size_t n2;
    double bytes;
    int failed; /* a write of this rank failed */
};

/* Rank 0: the temp file "<dir>/.<name>.XXXXXX.tmp" with the header in it. */
static int create_temp(MpiOut *o, size_t n1, size_t n2, ntkc_error *err)
{
    if (npy_check_output(o->path, err) != 0)
        return err->code;
    const char *slash = strrchr(o->path, '/');
    int dirlen = slash ? (int)(slash - o->path + 1) : 0;
    int n = snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.XXXXXX.tmp", dirlen, o->path, slash ? slash + 1 : o->path);
    if (n < 0 || (size_t)n >= sizeof o->tmp) {
        diag_user(err, "%s: cannot write output: path too long", o->path);
        return err->code;
    }
    int fd = mkstemps(o->tmp, 4);
    if (fd < 0) {
        diag_user(err, "%s: cannot write output: %s", o->path, strerror(errno));
        return err->code;
    }
    mode_t mask = umask(0); /* rank 0 is single-threaded here */
    umask(mask);
    fchmod(fd, 0666 & ~mask); /* as ntkc's (and numpy's) outputs, not mkstemp's 0600 */
    char header[NPY_WRITE_HEADER_MAX];
    size_t shape[2] = {n1, n2}, len = npy_header_format(header, sizeof header, 2, shape);
    int ok = write(fd, header, len) == (ssize_t)len;
    ok &= close(fd) == 0;
    if (!ok) {
        diag_user(err, "%s: cannot write output: %s", o->path, strerror(errno ? errno : EIO));
        unlink(o->tmp);
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
    diag_user(err, "%s: cannot write output: %s: %.*s", path, what, len, msg);
}

int mpi_out_create(MPI_Comm comm, const char *path, size_t n1, size_t n2, MpiOut **out, ntkc_error *err)
{
    *out = NULL;
    if (path == NULL)
        return 0;
    int rank;
    MPI_Comm_rank(comm, &rank);
    MpiOut *o = calloc(1, sizeof *o);
    int rc = 0;
    if (o == NULL)
        diag_internal(err, "out of memory"), rc = err->code;
    else if (strlen(path) >= sizeof o->path)
        diag_user(err, "%s: cannot write output: path too long", path), rc = err->code;
    else
        snprintf(o->path, sizeof o->path, "%s", path);
    if (rc == 0 && rank == 0)
        rc = create_temp(o, n1, n2, err);
    if ((rc = mpi_agree(comm, rc, err)) != 0) {
        free(o);
        return rc;
    }
    MPI_Bcast(o->tmp, (int)sizeof o->tmp, MPI_CHAR, 0, comm);
    long long off = o->data_offset;
    MPI_Bcast(&off, 1, MPI_LONG_LONG, 0, comm);
    o->data_offset = off;
    o->n2 = n2;
    int code = MPI_File_open(comm, o->tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &o->fh);
    if (code != MPI_SUCCESS) {
        mpi_error(path, "open", code, err);
        rc = err->code;
    }
    if ((rc = mpi_agree(comm, rc, err)) != 0) {
        if (code == MPI_SUCCESS)
            MPI_File_close(&o->fh);
        if (rank == 0)
            unlink(o->tmp);
        free(o);
        return rc;
    }
    *out = o;
    return 0;
}

int mpi_out_write(MpiOut *o, size_t i0, size_t r, size_t j0, size_t c, const double *buf, size_t ld,
                  ntkc_error *err)
{
    if (o->failed) {
        diag_user(err, "%s: cannot write output: an earlier write failed", o->path);
        return -1;
    }
    if (mpi_test_fail(MPI_COMM_WORLD, "write")) {
        o->failed = 1;
        diag_user(err, "%s: cannot write output: write failed (NTKC_MPI_TEST_FAIL)", o->path);
        return -1;
    }
    for (size_t i = 0; i < r; i++) {
        MPI_Offset at = o->data_offset + (MPI_Offset)(((i0 + i) * o->n2 + j0) * sizeof(double));
        MPI_Status st;
        int code = MPI_File_write_at(o->fh, at, buf + i * ld, (int)c, MPI_DOUBLE, &st), count = 0;
        if (code == MPI_SUCCESS)
            MPI_Get_count(&st, MPI_DOUBLE, &count);
        if (code != MPI_SUCCESS || (size_t)count != c) {
            o->failed = 1;
            if (code != MPI_SUCCESS)
                mpi_error(o->path, "write", code, err);
            else
                diag_user(err, "%s: cannot write output: short write (disk full?)", o->path);
            return -1;
        }
        o->bytes += (double)c * sizeof(double);
    }
    return 0;
}

double mpi_out_bytes(const MpiOut *o) { return o ? o->bytes : 0; }

int mpi_out_finish(MPI_Comm comm, MpiOut **outs, int n, int rc, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (int k = 0; k < n; k++)
        if (outs[k] != NULL) {
            /* The test hook fails the rank even when it happened to get no tile. */
            if (rc == 0 && mpi_test_fail(comm, "write")) {
                diag_user(err, "%s: cannot write output: write failed (NTKC_MPI_TEST_FAIL)", outs[k]->path);
                rc = err->code;
            }
            int code = MPI_File_close(&outs[k]->fh);
            if (code != MPI_SUCCESS && rc == 0) {
                mpi_error(outs[k]->path, "close", code, err);
                rc = err->code;
            }
        }
    rc = mpi_agree(comm, rc, err);
    for (int k = 0; k < n && rank == 0; k++)
        if (outs[k] != NULL && rc == 0 && rename(outs[k]->tmp, outs[k]->path) != 0) {
            diag_user(err, "%s: cannot write output: %s", outs[k]->path, strerror(errno));
            rc = err->code;
        }
    for (int k = 0; k < n && rank == 0; k++)
        if (outs[k] != NULL && rc != 0)
            unlink(outs[k]->tmp);
    rc = mpi_agree(comm, rc, err);
    for (int k = 0; k < n; k++)
        free(outs[k]);
    return rc;
}
