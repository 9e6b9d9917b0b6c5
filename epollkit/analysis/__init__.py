"""Pure interpretation shared by the lab and the model: summaries, statistics, the read experiment's
message format, orders, tables, queueing formulas and published figures. Imports neither ``lab`` nor
``sim``; nothing Unix-only."""
