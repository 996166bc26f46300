#include "mpi_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi_util.h"
#include "ntkc_tool.h"

enum { PATH_CAP = 4096 };

struct MpiOut {
    MPI_File fh;
    char path[PATH_CAP], tmp[PATH_CAP];
    MPI_Offset data_offset;
    size_t n2;
    double bytes;
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

static int create_temp(MpiOut *o, size_t n1, size_t n2, ntkc_error *err)
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
    size_t shape[2] = {n1, n2}, len = npy_header_format(header, sizeof header, 2, shape);
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
        err_internal(err, "out of memory"), rc = err->code;
    else if (strlen(path) >= sizeof o->path)
        err_file(err, path, "cannot write output: path too long"), rc = err->code;
    else
        snprintf(o->path, sizeof o->path, "%s", path);
    if (o != NULL)
        o->slot = -1;
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
            forget_unlink(o);
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
        err_file(err, o->path, "cannot write output: an earlier write failed");
        return -1;
    }
    if (mpi_test_fail(MPI_COMM_WORLD, "write")) {
        o->failed = 1;
        err_file(err, o->path, "cannot write output: write failed (NTKC_MPI_TEST_FAIL)");
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
                err_file(err, o->path, "cannot write output: short write (disk full?)");
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
                err_file(err, outs[k]->path, "cannot write output: write failed (NTKC_MPI_TEST_FAIL)");
                rc = err->code;
            }
            int code = MPI_File_close(&outs[k]->fh);
            if (code != MPI_SUCCESS && rc == 0) {
                mpi_error(outs[k]->path, "close", code, err);
                rc = err->code;
            }
        }
    rc = mpi_agree(comm, rc, err);
    if (rank == 0)
        temp_files_defer_signals(); /* the renames finish or roll back */
    for (int k = 0; k < n && rank == 0; k++)
        if (outs[k] != NULL && rc == 0) {
            temp_files_forget(outs[k]->slot);
            outs[k]->slot = -1;
            if (rename(outs[k]->tmp, outs[k]->path) != 0) {
                err_file(err, outs[k]->path, "cannot write output: %s", strerror(errno));
                rc = err->code;
            }
        }
    for (int k = 0; k < n && rank == 0; k++)
        if (outs[k] != NULL && rc != 0)
            forget_unlink(outs[k]);
    if (rank == 0)
        temp_files_resume_signals();
    rc = mpi_agree(comm, rc, err);
    for (int k = 0; k < n; k++)
        free(outs[k]);
    return rc;
}
