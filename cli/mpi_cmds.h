/* The commands of ntkc-mpi: collective over comm; each returns the exit code
 * every rank exits with. */
#ifndef NTKC_CLI_MPI_CMDS_H
#define NTKC_CLI_MPI_CMDS_H

#include <mpi.h>

int mpi_cmd_kernel(MPI_Comm comm, int argc, char **argv);
int mpi_cmd_predict(MPI_Comm comm, int argc, char **argv);

#endif
