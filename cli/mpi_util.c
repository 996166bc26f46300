#include "mpi_util.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

int mpi_agree(MPI_Comm comm, int rc, ntkc_error *err)
{
    int rank, size, first;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = rc != 0 ? rank : size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size)
        return 0;
    int code = rc;
    if (rank == first && err->code == 0) /* a usage error already printed by that rank */
        err->message[0] = '\0';
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    MPI_Bcast(err->message, (int)sizeof err->message, MPI_CHAR, first, comm);
    err->message[sizeof err->message - 1] = '\0';
    err->code = code;
    return code;
}

int mpi_test_fail(MPI_Comm comm, const char *stage)
{
    const char *hook = getenv("NTKC_MPI_TEST_FAIL");
    size_t len = strlen(stage);
    if (hook == NULL || strncmp(hook, stage, len) != 0 || hook[len] != ':')
        return 0;
    int rank;
    MPI_Comm_rank(comm, &rank);
    return atoi(hook + len + 1) == rank;
}

int mpi_report(MPI_Comm comm, const ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0 && err->message[0] != '\0')
        fprintf(stderr, "ntkc: %s\n", err->message);
    return err->code ? err->code : 2;
}

int mpi_quiet_begin(MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0)
        return -1;
    fflush(stderr);
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        dup2(null, STDERR_FILENO);
    if (null >= 0)
        close(null);
    return saved;
}

void mpi_quiet_end(int saved)
{
    if (saved < 0)
        return;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

double mpi_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}
