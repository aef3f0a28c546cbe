"""The test cluster: a real multi-host Slurm in network namespaces (see ``slurm.py``).

By hand, as root: ``python -m tests.cluster up`` / ``status`` / ``down`` (see docs/hpc.md).
"""
