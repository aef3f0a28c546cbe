"""Behavioural simulators of workload managers, and the insitu-side hooks that drive them."""
