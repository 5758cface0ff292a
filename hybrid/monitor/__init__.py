"""The feedback loop: the answer ledger, drift per route, and adapter staleness."""
