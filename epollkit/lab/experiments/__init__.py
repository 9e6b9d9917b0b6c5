"""The experiments, one module per experiment; each keeps only its physics (the skeleton is
``lab.harness``)."""

from . import fd_scenario  # noqa: F401 -- registers the descriptor-mode run class (scenario.RUNNERS)
