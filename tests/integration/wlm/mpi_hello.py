"""An MPI program (Open MPI's libmpi through ctypes): every rank sums the ranks with
MPI_Allreduce and writes ``rank <r> of <size> sum <sum> job <scheduler's job id>`` to
``rank_<r>.txt`` in its working directory (a file per rank: mpirun's forwarding of the
ranks' stdout may drop a line at exit)."""

import ctypes
import os

mpi = ctypes.CDLL("libmpi.so.40", mode=ctypes.RTLD_GLOBAL)


def handle(name: str) -> ctypes.c_void_p:
    """Open MPI's predefined handles are the addresses of global objects."""
    return ctypes.c_void_p(ctypes.addressof(ctypes.c_char.in_dll(mpi, name)))


mpi.MPI_Init(None, None)
world = handle("ompi_mpi_comm_world")
rank, size, total = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
mpi.MPI_Comm_rank(world, ctypes.byref(rank))
mpi.MPI_Comm_size(world, ctypes.byref(size))
mine = ctypes.c_int(rank.value)
mpi.MPI_Allreduce(
    ctypes.byref(mine), ctypes.byref(total), 1,
    handle("ompi_mpi_int"), handle("ompi_mpi_op_sum"), world,
)  # fmt: skip
job = os.environ.get("PBS_JOBID") or os.environ.get("LSB_JOBID") or os.environ.get("JOB_ID") or "-"
with open(f"rank_{rank.value}.txt", "w") as out:
    out.write(f"rank {rank.value} of {size.value} sum {total.value} job {job}\n")
mpi.MPI_Finalize()
