"""insitu.ml: SmartSim 0.8's ``smartsim.ml``, name for name.

``from smartsim.ml import DataInfo, TrainingDataUploader, DataDownloader`` ports to
``from insitu.ml import ...``; the framework generators live in :mod:`insitu.ml.torch`
(``StaticDataGenerator``, ``DynamicDataGenerator``, ``DataLoader``; needs torch) and
:mod:`insitu.ml.tf` (keras ``Sequence`` generators; needs TensorFlow). See
:mod:`insitu.ml.data` for the layout in the store.
"""

from insitu.ml.data import DataDownloader, DataInfo, TrainingDataUploader, form_name

__all__ = ["DataDownloader", "DataInfo", "TrainingDataUploader", "form_name"]
