"""connguard: find and help contain a compromised Microsoft 365 inbound connector."""

__version__ = "0.1.0"
