"""An MPI program (Open MPI's libmpi through ctypes: no mpi4py build needed): every rank
sums the ranks with MPI_Allreduce and writes ``rank_<r>`` = [rank, size, sum, node number]
through the insitu Client (the store from SSDB)."""

import ctypes
import socket

import numpy as np

from insitu.client import Client

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
    ctypes.byref(mine),
    ctypes.byref(total),
    1,
    handle("ompi_mpi_int"),
    handle("ompi_mpi_op_sum"),
    world,
)
node = int("".join(ch for ch in socket.gethostname() if ch.isdigit()) or "0")
Client().put_tensor(f"rank_{rank.value}", np.array([rank.value, size.value, total.value, node]))
mpi.MPI_Finalize()
