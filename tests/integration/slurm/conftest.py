"""The Slurm tests run on the namespace test cluster (tests/cluster): root and Debian's
slurm-wlm and munge are needed, else they skip saying so."""

from tests.cluster.fixture import allocation, slurm_cluster

__all__ = ["allocation", "slurm_cluster"]
