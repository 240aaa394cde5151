"""The product's settings, with static files collected into the bench's own folder.

With DEBUG=0 pages need collected static files; the bench collects them into a
temporary folder instead of the project's staticfiles/.
"""

from __future__ import annotations

import os
from pathlib import Path

from taxpoynt.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
