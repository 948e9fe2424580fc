"""Output files written whole or not at all (SPEC section 7: "an output file is either written
whole or left as it was").

A command's outputs that belong together (an image and its map; a result and its plots) form one
`Outputs` set: each file is first written to a temporary file beside its target, and only when
every one of them has been written are they renamed into place, one `os.replace` each. If
anything fails before that (a bad value, a full disk, `ulimit -f`, an interrupt), the temporary
files are removed and every target keeps its old contents.

    with Outputs() as out:
        out.write_text(image_path, image_text)
        out.write_text(map_path, json.dumps(chip_map))
    # both renamed into place here, or neither

Two outputs of one set may not name the same file (`--map` equal to `-o`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .spec import NeuroMeshError


class OutputError(NeuroMeshError):
    pass


class Outputs:
    def __init__(self):
        self._staged: list[tuple[Path, Path]] = []   # (temporary, target)
        self._made_dirs: list[Path] = []

    # -- staging ------------------------------------------------------------------------------
    def _claim(self, target) -> Path:
        target = Path(target)
        _check_file_target(target)
        resolved = target.resolve()
        for _tmp, other in self._staged:
            if other.resolve() == resolved:
                raise OutputError(f"{target}: named twice as an output of one command")
        self._mkdirs(target.parent)
        return target

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except OSError as e:
                raise OutputError(f"{d}: cannot create the folder: {e.strerror or e}") from None
            self._made_dirs.append(d)

    def path(self, target) -> Path:
        """A temporary path to write `target` to (by any means: a library's `save(path)`)."""
        target = self._claim(target)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        except OSError as e:
            raise OutputError(f"{target}: cannot write in {target.parent}: {e.strerror or e}") from None
        try:
            # mkstemp makes the file 0600; an output gets the mode a plain open() would give it
            os.fchmod(fd, 0o666 & ~_umask())
        finally:
            os.close(fd)
        self._staged.append((Path(tmp), target))
        return Path(tmp)

    def write_text(self, target, text: str) -> Path:
        tmp = self.path(target)
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as e:
            raise OutputError(f"{target}: cannot write: {e.strerror or e}") from None
        return Path(target)

    def write_bytes(self, target, data: bytes) -> Path:
        tmp = self.path(target)
        try:
            tmp.write_bytes(data)
        except OSError as e:
            raise OutputError(f"{target}: cannot write: {e.strerror or e}") from None
        return Path(target)

    def folder(self, target) -> Path:
        """A temporary folder that replaces the folder `target` on commit (e.g. a plot folder):
        files already in `target` that the new folder does not hold are kept."""
        target = Path(target)
        _check_folder_target(target)
        self._mkdirs(target.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        self._staged.append((tmp, target))
        return tmp

    # -- commit or roll back --------------------------------------------------------------------
    def commit(self) -> None:
        for tmp, target in self._staged:
            if tmp.is_dir():
                target.mkdir(exist_ok=True)
                for f in tmp.iterdir():
                    os.replace(f, target / f.name)
                tmp.rmdir()
            else:
                os.replace(tmp, target)
        self._staged.clear()
        self._made_dirs.clear()

    def abort(self) -> None:
        for tmp, _target in self._staged:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        self._staged.clear()
        for d in reversed(self._made_dirs):
            try:
                d.rmdir()  # only folders this set made, and only if still empty
            except OSError:
                pass
        self._made_dirs.clear()

    def __enter__(self) -> "Outputs":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()
        return False


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_parents(target: Path) -> None:
    """The nearest existing folder above `target` must be a folder (not a file)."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{target}: cannot be written: {parent} is a file, not a folder")
            return


def _check_file_target(target: Path) -> None:
    if target.is_dir():
        raise OutputError(f"{target}: is a directory, not a file to write")
    _check_parents(target)


def _check_folder_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder")
    _check_parents(target)


def check_targets(files=(), folders=()) -> None:
    """Refuse, before a long computation, outputs that `Outputs` would refuse when it writes them:
    a file that is a folder, a folder that is a file, a path through a file, a file named twice.
    (A full disk or a permission can still fail at the write; Outputs then leaves every target
    as it was.)"""
    seen = {}
    for f in files:
        f = Path(f)
        _check_file_target(f)
        key = f.resolve()
        if key in seen:
            raise OutputError(f"{f}: named twice as an output of one command")
        seen[key] = f
    for d in folders:
        _check_folder_target(Path(d))


def write_text_atomic(target, text: str) -> Path:
    """One file, written whole or not at all."""
    with Outputs() as out:
        out.write_text(target, text)
    return Path(target)
