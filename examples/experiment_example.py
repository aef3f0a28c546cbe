"""Seed 001's example experiment, ported to insitu (only the imports changed, plus the
interface: this machine has no Infiniband ``ib0``, so the store binds loopback).

A 3-shard store (a Redis Cluster of real Valkey servers) and a model that echoes
"Hello World" are generated, previewed, started, and the store is stopped again.
Set INSITU_EXAMPLE_PORT to move the store off port 6379.
"""

import os

from insitu import Experiment, Verbosity
from insitu.log import get_logger

# Initialize an Experiment
exp = Experiment("example-experiment", launcher="auto")
# Initialize a SmartSim logger
smartsim_logger = get_logger("logger")

# Initialize an Orchestrator
port = int(os.environ.get("INSITU_EXAMPLE_PORT", "6379"))
standalone_database = exp.create_database(db_nodes=3, port=port, interface="lo")

# Initialize the Model RunSettings
settings = exp.create_run_settings("echo", exe_args="Hello World")
# Initialize the Model
model = exp.create_model("hello_world", settings)

# Generate the output directory
exp.generate(standalone_database, model, overwrite=True)

# Preview the experiment
exp.preview(standalone_database, model, verbosity_level=Verbosity.DEBUG)

# Launch the Orchestrator then Model instance
exp.start(standalone_database, model)

# Clobber the Orchestrator
exp.stop(standalone_database)

# Log the summary of the Experiment
smartsim_logger.info(exp.summary())
