"""The whole schema: every service's tables, and the migration revision they match."""

from __future__ import annotations

from sqlalchemy import MetaData

# The newest revision in db/migrations/versions; a test checks the two agree,
# so adding a migration without moving this fails the suite.
HEAD = "0010"


def metadata() -> MetaData:
    """Metadata holding every table of every service (imports each models module)."""
    from stackling.compute import models as _compute  # noqa: F401
    from stackling.db.base import Base
    from stackling.identity import models as _identity  # noqa: F401  (registers tables)
    from stackling.image import models as _image  # noqa: F401
    from stackling.image.metadefs import models as _metadefs  # noqa: F401
    from stackling.network import models as _network  # noqa: F401
    from stackling.object import models as _object  # noqa: F401
    from stackling.placement import models as _placement  # noqa: F401
    from stackling.volume import models as _volume  # noqa: F401

    return Base.metadata
