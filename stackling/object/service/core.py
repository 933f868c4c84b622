"""The object service: its store, its database, and the work it does in the background."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from stackling.db.engine import Database
from stackling.object.drivers.base import ObjectStore
from stackling.object.drivers.registry import make_store
from stackling.object.service.batch_writes import BatchWriter
from stackling.object.service.group_commit import GroupCommit
from stackling.settings import ObjectSettings, Settings

LOG = logging.getLogger(__name__)


class ObjectService:
    """What every object call needs: settings, the database and the store."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.conf: ObjectSettings = settings.object
        self.db = db
        self.root: Path = self.conf.data_dir or settings.data_dir / "objects"
        self.store: ObjectStore = make_store(self.conf.driver, self.root)
        self.runtime: Any = None
        # Object writes commit together when they arrive together.
        self.commits = GroupCommit(db)
        # Plain PUTs and DELETEs, the hot path, go in batches of a few statements.
        self.batch = BatchWriter(db)
        # project id -> (expiry on the monotonic clock, account metadata); see accounts.cached_meta.
        self.account_meta: dict[str, tuple[float, dict[str, Any]]] = {}
