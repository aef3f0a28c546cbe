"""gRPC: ensemble-python's EnsembleOperator service over a running ensemble (``grpc`` needed)."""
