"""Figures drawn from a result JSON (`neuromesh run --plot DIR`)."""
from .result import write_plots

__all__ = ["write_plots"]
