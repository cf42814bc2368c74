"""Web pages: ``/ui`` (server-rendered HTML; script only where a page signs).

The HTTP application (``api/http/app.py``) includes ``api.web.pages.router``
(imported from ``api.web.pages``, not from this package). ``api.http`` is
imported here first, so importing this package before the application cannot
meet the application half-imported while it includes the router.
"""

from __future__ import annotations

import api.http  # noqa: F401  (import order: see above)
from api.web.pages import router

__all__ = ["router"]
