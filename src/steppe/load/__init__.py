"""Loading scenarios from YAML files: safe parsing, validation, located errors."""

from steppe.load.loader import load, loads, validate_files

__all__ = ["load", "loads", "validate_files"]
