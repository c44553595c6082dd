"""The command line (`caseledger`) and its tools: the processes (`up`, `relay`, `consume`, `timers`, `api`),
the demo, the load generator and the benchmarks. The top layer: it may import everything, nothing imports it.
"""
