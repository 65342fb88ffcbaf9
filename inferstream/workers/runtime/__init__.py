"""The stage runtime shared by every stage and task: consumer loop, commit protocol,
micro-batching, backpressure, dead-lettering, health and metrics."""
