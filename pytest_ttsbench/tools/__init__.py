"""Developer tools run as scripts: the harness self-check and the fidelity check."""
