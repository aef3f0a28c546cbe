"""Seed 000, multiple-orchestrator example: the driver, ported to insitu.

Changes from the seed: the imports; the interface is ``lo`` (this machine has no Infiniband
``ib0``) unless INSITU_EXAMPLE_INTERFACE names another (``hsn0`` on the Slurm test
cluster); the application path. INSITU_EXAMPLE_PORT moves the base port (seed: 6379, with
the 3-shard store on the next ports). The colocated store asks for 6379 as in the seed; on
one host that port is the single-shard store's, so insitu gives the colocated store the next
free port and hands it to the application through its environment.
"""

import os
import sys
from pathlib import Path

import numpy as np

from insitu import Experiment
from insitu.client import Client
from insitu.log import get_logger

exe_ex = sys.executable
logger = get_logger("Multidb Experiment Log")
base = int(os.environ.get("INSITU_EXAMPLE_PORT", "6379"))
interface = os.environ.get("INSITU_EXAMPLE_INTERFACE", "lo")
# Initialize the Experiment
exp = Experiment("getting-started-multidb", launcher="auto")

# Initialize a single sharded database
single_shard_db = exp.create_database(
    port=base, db_nodes=1, interface=interface, db_identifier="single_shard_db_identifier"
)
exp.generate(single_shard_db, overwrite=True)

# Initialize a multi sharded database
multi_shard_db = exp.create_database(
    port=base + 1, db_nodes=3, interface=interface, db_identifier="multi_shard_db_identifier"
)
exp.generate(multi_shard_db, overwrite=True)

# Launch the single and multi sharded database
exp.start(single_shard_db, multi_shard_db, summary=True)

# Initialize SmartRedis client for single sharded database
driver_client_single_shard = Client(
    cluster=False, address=single_shard_db.get_address()[0], logger_name="Single shard db logger"
)
# Initialize SmartRedis client for multi sharded database
driver_client_multi_shard = Client(
    cluster=True, address=multi_shard_db.get_address()[0], logger_name="Multi shard db logger"
)

# Create NumPy array
array_1 = np.array([1, 2, 3, 4])
# Use single shard db SmartRedis client to place tensor in single sharded db
driver_client_single_shard.put_tensor("tensor_1", array_1)

# Create NumPy array
array_2 = np.array([5, 6, 7, 8])
# Use single shard db SmartRedis client to place tensor in multi sharded db
driver_client_multi_shard.put_tensor("tensor_2", array_2)

# Check that tensors are in correct databases
check_single_shard_db_tensor_incorrect = driver_client_single_shard.key_exists("tensor_2")
check_multi_shard_db_tensor_incorrect = driver_client_multi_shard.key_exists("tensor_1")
logger.info(
    "The multi shard array key exists in the incorrect database: "
    f"{check_single_shard_db_tensor_incorrect}"
)
logger.info(
    "The single shard array key exists in the incorrect database: "
    f"{check_multi_shard_db_tensor_incorrect}"
)

# Initialize a RunSettings object
app = str(Path(__file__).resolve().parent / "application_script.py")
model_settings = exp.create_run_settings(exe=exe_ex, exe_args=app)
# Configure RunSettings object
model_settings.set_nodes(1)
model_settings.set_tasks_per_node(1)
# Initialize a SmartSim Model
model = exp.create_model("colo_model", model_settings)
# Colocate the Model
model.colocate_db_tcp(db_identifier="colo_db_identifier")
# Launch the colocated Model
exp.start(model, block=True, summary=True)

# Tear down the single and multi sharded databases
exp.stop(single_shard_db, multi_shard_db)
# Print the Experiment summary
logger.info(exp.summary())
