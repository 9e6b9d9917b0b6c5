"""The experiments, one module per experiment; each keeps only its physics (the skeleton is
``lab.harness``)."""
