"""The package version, in one place (the package face and fit records read it)."""

VERSION = "0.1.0"
