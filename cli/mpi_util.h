/* What every ntkc-mpi command shares: errors agreed across ranks, the test
 * hook that makes one rank fail on purpose, the memory a rank may take. */
#ifndef NTKC_CLI_MPI_UTIL_H
#define NTKC_CLI_MPI_UTIL_H

#include <mpi.h>

#include "ntkc.h"

/* Collective. Each rank passes its own outcome (0, or an exit code with err
 * holding the message). Returns on every rank the code of the lowest failing
 * rank, err then holding that rank's message; 0 when every rank succeeded. */
int mpi_agree(MPI_Comm comm, int rc, ntkc_error *err);

/* Tests only: NTKC_MPI_TEST_FAIL=STAGE:RANK (STAGE "input" or "write") makes
 * that rank fail at that stage as if its read or write had failed, so the
 * tests can show a one-rank failure reaching every rank ("write" fails the
 * rank's writes, and its output at the end should it have written no tile).
 * Rank 0's memory checks take two more: "gather" (the ODE's kernels do not
 * fit) and "kfile" (a kernel file it must read whole does not fit).
 * 1 when this rank is to fail there. */
int mpi_test_fail(MPI_Comm comm, const char *stage);

/* Usage errors come from the same arguments on every rank, so only rank 0
 * prints them: on the other ranks mpi_quiet_begin points stderr at /dev/null
 * until mpi_quiet_end(comm, its result). Rank 0: no-op (returns -1). */
int mpi_quiet_begin(MPI_Comm comm);
void mpi_quiet_end(int saved);

/* This node's MemAvailable (/proc/meminfo) in bytes, or -1 when unknown:
 * what a rank checks before holding whole kernels (mpi_ode.c, mpi_kfiles.c). */
double mpi_memory_available(void);

/* Rank 0 prints err's message; every rank returns the exit code. */
int mpi_report(MPI_Comm comm, const ntkc_error *err);

#endif
