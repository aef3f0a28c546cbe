"""Seed 002, multiple-database example: the application (only the imports changed)."""

from insitu.client import *  # noqa: F403 - as the seed's `from smartredis import *`
from insitu.client import Client, ConfigOptions
from insitu.client.errors import *  # noqa: F403 - as the seed's `from smartredis.error import *`

single_shard_config = ConfigOptions.create_from_environment("single_shard_db_identifier")
app_single_shard_client = Client(single_shard_config, logger_name="Model: single shard logger")

multi_shard_config = ConfigOptions.create_from_environment("multi-shard-db-identifier")
app_multi_shard_client = Client(multi_shard_config, logger_name="Model: multi shard logger")

val1 = app_single_shard_client.get_tensor("tensor_1")
val2 = app_multi_shard_client.get_tensor("tensor_2")

app_single_shard_client.log_data(LLInfo, f"The colocated db tensor is: {val1}")  # noqa: F405
app_multi_shard_client.log_data(LLInfo, f"The clustered db tensor is: {val2}")  # noqa: F405
