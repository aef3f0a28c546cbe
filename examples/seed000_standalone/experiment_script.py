"""Seed 000, standalone example: the driver, ported to insitu.

Changes from the seed: the imports; the executable is this directory's application script
run by the current Python; the store's base port can be moved with INSITU_EXAMPLE_PORT
(the seed lets SmartSim pick 6379); INSITU_EXAMPLE_INTERFACE names the store's network
interface (default ``lo``, SmartSim's default; ``hsn0`` on the Slurm test cluster, whose
shards run on other hosts than the driver).
"""

import os
import sys
from pathlib import Path

import numpy as np

from insitu import Experiment
from insitu.client import Client
from insitu.log import get_logger

# Initialize the logger
logger = get_logger("Example Experiment Log")
# Initialize the Experiment
exp = Experiment("getting-started", launcher="auto")
# Initialize a multi-sharded Orchestrator
port = int(os.environ.get("INSITU_EXAMPLE_PORT", "6379"))
interface = os.environ.get("INSITU_EXAMPLE_INTERFACE", "lo")
standalone_orchestrator = exp.create_database(db_nodes=3, port=port, interface=interface)
exp.start(standalone_orchestrator)  # the seed connects before starting; a store must run first
# Initialize a SmartRedis client for multi-sharded Orchestrator
driver_client = Client(cluster=True, address=standalone_orchestrator.get_address()[0])
# Create NumPy array
local_array = np.array([1, 2, 3, 4])
# Use the SmartRedis client to place tensor in the standalone Orchestrator
driver_client.put_tensor("tensor_1", local_array)
# Initialize a RunSettings object
app = str(Path(__file__).resolve().parent / "application_script.py")
model_settings = exp.create_run_settings(exe=sys.executable, exe_args=app)
model_settings.set_nodes(1)
# Initialize the Model
model = exp.create_model("model", model_settings)
# Create the output directory
exp.generate(model, overwrite=True)
# Launch the Model
exp.start(model, block=True, summary=True)
# Poll the tensors placed by the Model
app_tensor = driver_client.poll_key("tensor_2", 100, 10)
# Validate that the tensor exists
logger.info(f"The tensor exists: {app_tensor}")
# Cleanup the Orchestrator
exp.stop(standalone_orchestrator)
# Print the Experiment summary
logger.info(exp.summary())
