/* ntkc-mpi — ntkc's kernel and predict commands over MPI ranks (mpirun,
 * srun). A separate executable so that plain ntkc never needs MPI. */
#include <stdio.h>
#include <string.h>

#include "mpi_cmds.h"
#include "ntkc_tool.h"

static const char usage[] =
    "usage: mpirun -np P ntkc-mpi COMMAND [ARGS]\n"
    "\n"
    "ntkc's commands over MPI ranks; the same arguments and results as ntkc.\n"
    "\n"
    "commands:\n"
    "  kernel NET.ntk X1.npy [X2.npy] --ntk K.npy --nngp S.npy [--tile E]\n"
    "                      output tiles shared among the ranks, written with MPI-IO\n"
    "  predict NET.ntk --train X.npy --targets Y.npy --test Xt.npy --mean M.npy [--tile B]\n"
    "                      kernels and solve in ScaLAPACK's block-cyclic layout\n"
    "\n"
    "`ntkc-mpi COMMAND --help` describes a command. Exit codes (every rank):\n"
    "0 success, 1 user error, 2 internal error.\n";

int main(int argc, char **argv)
{
    int provided;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
        fputs("ntkc-mpi: MPI_Init_thread failed\n", stderr);
        return 2;
    }
    /* As ntkc: SIGINT/SIGTERM/SIGHUP remove the output temps (rank 0's). */
    temp_files_install_handlers();
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank, rc;
    MPI_Comm_rank(comm, &rank);
    if (provided < MPI_THREAD_SERIALIZED) {
        if (rank == 0)
            fputs("ntkc-mpi: the MPI library does not support threads (MPI_THREAD_SERIALIZED)\n", stderr);
        rc = 2;
    } else if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (rank == 0)
            fputs(usage, argc < 2 ? stderr : stdout);
        rc = argc < 2;
    } else if (strcmp(argv[1], "kernel") == 0) {
        rc = mpi_cmd_kernel(comm, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "predict") == 0) {
        rc = mpi_cmd_predict(comm, argc - 1, argv + 1);
    } else {
        if (rank == 0)
            fprintf(stderr, "ntkc-mpi: unknown command '%s'\n\n%s", argv[1], usage);
        rc = 1;
    }
    fflush(stdout);
    MPI_Finalize();
    return rc;
}
