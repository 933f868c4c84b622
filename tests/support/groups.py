"""`--dist loadgroup` that works: the tests of one `xdist_group` run on one xdist worker.

pytest-xdist's own loadgroup appends `@<group>` to each grouped test's node id
in the workers (by setting `item._nodeid`), and its scheduler groups on that
suffix. pytest 9.2 keeps node ids elsewhere, so the suffix never appears and
every grouped test is scheduled on its own, on any worker. Here the workers,
which see the markers, write each grouped test's node id and group to a file
of a directory the controller handed them; the controller's scheduler reads
those files once every worker has collected, before it hands out any work.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

# The workerinput key naming the directory of the workers' group files.
GROUPS_DIR_KEY = "stackling_groups_dir"
_DIR = pytest.StashKey[Path]()


def group_of(item: pytest.Item) -> str | None:
    """The item's group, named as xdist names it (several marks: sorted, `_`-joined)."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


def groups_dir(config: pytest.Config) -> Path:
    """The controller's directory for the workers' group files (made on first use)."""
    if _DIR not in config.stash:
        config.stash[_DIR] = Path(tempfile.mkdtemp(prefix="stackling-xdist-groups-"))
    return config.stash[_DIR]


def remove_groups_dir(config: pytest.Config) -> None:
    """Remove the controller's directory, if it made one."""
    if _DIR in config.stash:
        shutil.rmtree(config.stash[_DIR], ignore_errors=True)


def record_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a worker: write {node id: group} of the grouped items for the controller."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None or GROUPS_DIR_KEY not in workerinput:
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
    path = Path(workerinput[GROUPS_DIR_KEY]) / f"{workerinput['workerid']}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(groups))
    os.replace(partial, path)


class GroupScheduling(LoadGroupScheduling):
    """xdist's loadgroup scheduling, with the groups the workers wrote down.

    A grouped test's scope is its group (one work unit for the whole group, so
    one worker, one test after the other); any other test is a unit of its own.
    """

    def __init__(self, config: pytest.Config, log: Any, directory: Path) -> None:
        super().__init__(config, log)
        self.directory = directory
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:
            # Called first when every worker has finished collecting (and so written).
            self._groups = {}
            for path in sorted(self.directory.glob("*.json")):
                self._groups.update(json.loads(path.read_text()))
        group = self._groups.get(nodeid)
        if group is not None:
            return f"xdist_group:{group}"
        return str(super()._split_scope(nodeid))
