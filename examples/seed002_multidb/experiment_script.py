"""Seed 002, multiple-database example: the driver, ported to insitu.

Changes from the seed: the imports; ``interface="lo"`` (no Infiniband ``ib0`` here); the
application path. INSITU_EXAMPLE_PORT moves the base port (seed: 6379 and 6380..6382). The
colocated store asks for 6379 as in the seed; on one host that port is the single-shard
store's, so insitu gives the colocated store the next free port and hands it to the
application through its environment.
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
exp = Experiment("getting-started-multidb", launcher="auto")

single_shard_db = exp.create_database(
    port=base, db_nodes=1, interface="lo", db_identifier="single_shard_db_identifier"
)
exp.generate(single_shard_db, overwrite=True)

multi_shard_db = exp.create_database(
    port=base + 1, db_nodes=3, interface="lo", db_identifier="multi-shard-db-identifier"
)
exp.generate(multi_shard_db, overwrite=True)

exp.start(single_shard_db, multi_shard_db)

driver_client_single_shard = Client(
    cluster=False, address=single_shard_db.get_address()[0], logger_name="Single shard db logger"
)
driver_client_multi_shard = Client(
    cluster=True, address=multi_shard_db.get_address()[0], logger_name="Multi shard db logger"
)

array_1 = np.array([1, 2, 3, 4])
driver_client_single_shard.put_tensor("tensor_1", array_1)

array_2 = np.array([5, 6, 7, 8])
driver_client_multi_shard.put_tensor("tensor_2", array_2)

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

app = str(Path(__file__).resolve().parent / "model_ex.py")
model_settings = exp.create_run_settings(exe=exe_ex, exe_args=app)
model_settings.set_nodes(1)
model_settings.set_tasks_per_node(1)
model_example = exp.create_model("colocated_model", model_settings)
model_example.colocate_db_tcp()
exp.start(model_example, block=True, summary=True)

exp.stop(single_shard_db, multi_shard_db)
logger.info(exp.summary())
