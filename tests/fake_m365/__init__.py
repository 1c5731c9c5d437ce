"""A loopback HTTPS fake of the Microsoft 365 services connguard's live collector reads.

See server.FakeM365; dataset.py tells the planted compromise story.
"""

from fake_m365.core import App, Fault
from fake_m365.server import FakeM365, start_fake

__all__ = ["App", "FakeM365", "Fault", "start_fake"]
