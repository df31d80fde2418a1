"""The answering engine: question analysis, evidence selection by date, composition, guards and the chain."""
