"""Uploaded files as plain files under DATA_DIR (the local-disk mode).

Writes are crash-safe on that disk (temp file, fsync, rename), so what this
mode loses is only what its bug loses: the directory itself, when the
container is recreated or the request lands on another replica.
"""

from __future__ import annotations

import os
import re
import tempfile

from refapp.errors import NotFound, StorageUnavailable
from refapp.models import StoredFile

_ID = re.compile(r"[0-9a-f]{32}")


class DiskFileStore:
    def __init__(self, directory: str) -> None:
        self.directory = directory

    def prepare(self) -> None:
        """Create the directory at startup (DATA_DIR may not exist yet)."""
        os.makedirs(self.directory, exist_ok=True)

    def _path(self, file_id: str) -> str:
        if not _ID.fullmatch(file_id):
            raise NotFound(file_id)  # also keeps "..", "/" and friends out of the path
        return os.path.join(self.directory, file_id)

    def add(self, file: StoredFile) -> None:
        path = self._path(file.id)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(file.content)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StorageUnavailable(f"disk: {exc}") from exc

    def get(self, file_id: str) -> bytes:
        path = self._path(file_id)
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(file_id) from None
        except OSError as exc:
            raise StorageUnavailable(f"disk: {exc}") from exc
