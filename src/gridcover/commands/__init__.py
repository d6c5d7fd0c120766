"""One module per CLI sub-command (see ``gridcover.cli``)."""
