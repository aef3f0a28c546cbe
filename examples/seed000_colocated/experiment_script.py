"""Seed 000, colocated example: the driver, ported to insitu.

Changes from the seed: the imports, and the executable (this directory's application
script run by the current Python). INSITU_EXAMPLE_SOCKET moves the Unix socket.
"""

import os
import sys
from pathlib import Path

from insitu import Experiment
from insitu.log import get_logger

# Initialize a logger object
logger = get_logger("Example Experiment Log")
# Initialize the Experiment
exp = Experiment("getting-started", launcher="auto")
# Initialize a RunSettings object
app = str(Path(__file__).resolve().parent / "application_script.py")
model_settings = exp.create_run_settings(exe=sys.executable, exe_args=app)
# Configure RunSettings object
model_settings.set_nodes(1)
# Initialize a SmartSim Model
model = exp.create_model("colo_model", model_settings)
# Colocate the Model
socket = os.environ.get("INSITU_EXAMPLE_SOCKET")
if socket:
    model.colocate_db_uds(unix_socket=socket)
else:
    model.colocate_db_uds()
# Generate output files
exp.generate(model, overwrite=True)
# Launch the colocated Model
exp.start(model, block=True, summary=True)
# Log the Experiment summary
logger.info(exp.summary())
