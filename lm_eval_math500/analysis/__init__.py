"""Reading finished runs: the harness's results and samples files, exported, reported and compared."""
