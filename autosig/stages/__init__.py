"""The stages the worker runs, each reading one stream and appending keyed events to another (docs/ARCHITECTURE.md):

    ingest    Whop -> raw, worker           autosig.stages.ingest
    parse     raw -> parsed                 autosig.stages.parse
    (runner)  recovery, batching, following autosig.stages.runner
"""
