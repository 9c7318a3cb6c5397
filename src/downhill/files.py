"""Writing files without ever losing or half-writing one: checkpoints, pictures, animations.

Every file downhill writes goes through :func:`write_atomically`:

- the destination is checked first (:func:`output_target`): a regular file or
  nothing yet, in a folder that exists. A symbolic link is followed to the file
  it names, which is then replaced (so ``latest.ckpt -> run3/model.ckpt`` keeps
  pointing at the new ``run3/model.ckpt``). Folders, named pipes (FIFOs),
  devices and sockets are refused: writing a file there would either replace
  something that is not a file or block forever;
- the bytes go to a temporary file in the same folder, are flushed and
  ``fsync``-ed, and the temporary is renamed over the destination with
  ``os.replace`` (atomic on POSIX and Windows). A crash, a kill or a full disk
  at any moment leaves the previous file exactly as it was;
- the temporary is named ``.<name>.<pid>-<random>.downhill-tmp``. A process
  killed mid-write cannot clean up after itself, so the next write to the same
  destination removes such leftovers (only those whose writer is gone: its
  process no longer runs and nobody holds the file's lock).

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = write_atomically(os.path.join(folder, "notes.txt"), lambda file: file.write(b"downhill"))
>>> open(path, "rb").read(), os.listdir(folder)
(b'downhill', ['notes.txt'])
"""

from __future__ import annotations

import errno
import os
import secrets
import stat

from .errors import InputError, shorten

try:  # POSIX: a lock held by a writer for as long as it writes (released by the kernel if it dies)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["show_path", "kind_of", "output_target", "write_atomically", "remove_stale_temporaries", "TEMPORARY_SUFFIX"]

TEMPORARY_SUFFIX = ".downhill-tmp"
# Room for the random part and the suffix within the usual 255-byte limit on a file name.
_NAME_ROOM = 150


def show_path(path) -> str:
    """A path for a message: whole when reasonable, else its last 120 characters (its name survives).

    >>> show_path("/tmp/run/model.ckpt")
    '/tmp/run/model.ckpt'
    >>> show_path("/" + "d" * 300 + "/model.ckpt")[-16:]
    'ddddd/model.ckpt'
    """
    text = os.fsdecode(os.fspath(path))
    return text if len(text) <= 160 else f"…{text[-120:]}"


def kind_of(mode: int) -> str:
    """What a file of ``stat`` mode ``mode`` is, in words (\"a folder\", \"a named pipe (FIFO)\", ...).

    >>> import stat
    >>> kind_of(stat.S_IFIFO)
    'a named pipe (FIFO)'
    """
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def output_target(path, what: str = "file", error: type[Exception] = InputError) -> str:
    """The regular file that writing to ``path`` will replace (or create), checked before any work.

    Follows symbolic links to the file they name; refuses (raising ``error``)
    a folder, a FIFO, a device, a socket, a link to nothing or a loop of
    links, and a destination whose folder does not exist or cannot be written.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> output_target(os.path.join(folder, "a.png")) == os.path.join(os.path.realpath(folder), "a.png")
    True
    >>> try:
    ...     output_target(folder)
    ... except InputError as problem:
    ...     print(str(problem).split(": ", 1)[1])
    it is a folder; give the name of a file to write
    """
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    shown = show_path(raw)
    if not raw:
        raise error(f"cannot write the {what}: the file name is empty")
    if "\0" in raw:
        raise error(f"cannot write the {what} {shown!r}: a file name cannot contain a NUL character")
    target = raw
    if os.path.islink(raw):
        try:
            os.stat(raw)
        except OSError as problem:
            if problem.errno == errno.ELOOP:
                raise error(f"cannot write the {what} {shown}: it is a loop of symbolic links") from None
            raise error(f"cannot write the {what} {shown}: it is a symbolic link to "
                        f"{shorten(os.readlink(raw))}, which does not exist; create that file or "
                        "remove the link") from None
        target = os.path.realpath(raw)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as problem:
        raise error(f"cannot write the {what} {shown}: {problem.strerror or problem}") from None
    if mode is not None and not stat.S_ISREG(mode):
        hint = "give the name of a file to write" if stat.S_ISDIR(mode) else \
            "downhill writes only regular files"
        raise error(f"cannot write the {what} {shown}: it is {kind_of(mode)}; {hint}")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise error(f"cannot write the {what} {shown}: the folder {show_path(folder)} does not exist; "
                    "create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"cannot write the {what} {shown}: the folder {show_path(folder)} is not writable")
    return os.path.abspath(target)


def _temporary_prefix(name: str) -> str:
    return f".{name[:_NAME_ROOM]}."


def _writer_is_gone(path: str, pid: int) -> bool:
    """Whether the process that created the temporary ``path`` has stopped writing it."""
    if fcntl is None:  # pragma: no cover - Windows refuses to delete a file that is open
        return True
    if pid == os.getpid():
        return False  # another thread of ours may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    except OSError:  # alive, but someone else's
        return False
    else:
        return False
    # The process is gone; its lock (if any) must be free too. A writer in
    # another PID namespace sharing this folder would still hold it.
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def remove_stale_temporaries(target: str) -> list[str]:
    """Remove what killed writes to ``target`` left behind; returns the names removed.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> stale = os.path.join(folder, ".c.ckpt.999999999-00ff.downhill-tmp")  # no such process
    >>> open(stale, "wb").close()
    >>> remove_stale_temporaries(os.path.join(folder, "c.ckpt"))
    ['.c.ckpt.999999999-00ff.downhill-tmp']
    """
    folder, name = os.path.split(target)
    prefix = _temporary_prefix(name)
    removed = []
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return removed
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(TEMPORARY_SUFFIX)):
            continue
        middle = entry[len(prefix):-len(TEMPORARY_SUFFIX)]
        pid_text, _, token = middle.partition("-")
        if not (pid_text.isdigit() and token and all(c in "0123456789abcdef" for c in token)):
            continue
        path = os.path.join(folder, entry)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode) or not _writer_is_gone(path, int(pid_text)):
                continue
            os.unlink(path)
            removed.append(entry)
        except OSError:
            continue
    return removed


def _file_mode(path: str) -> int:
    """The permissions the file should have: the old file's, or the usual ones for a new file."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask; read from /proc where possible, since setting it to read it races with threads."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path, write, what: str = "file", error: type[Exception] = InputError) -> str:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``.

    ``file`` is a binary file object. On any failure (in ``write``, a full
    disk, an interrupt) the temporary is removed and the old file at ``path``
    stays as it was; an ``OSError`` that named no file is raised again naming
    ``path``. Returns the path of the file written (the target of a
    symbolic link, when ``path`` is one). See the module's docstring.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.bin")
    >>> _ = write_atomically(path, lambda file: file.write(b"1"))
    >>> try:
    ...     write_atomically(path, lambda file: 1 / 0)
    ... except ZeroDivisionError:
    ...     pass
    >>> open(path, "rb").read(), len(os.listdir(os.path.dirname(path)))
    (b'1', 1)
    """
    target = output_target(path, what, error)
    folder, name = os.path.split(target)
    remove_stale_temporaries(target)
    while True:
        temporary = os.path.join(folder, f"{_temporary_prefix(name)}{os.getpid()}-{secrets.token_hex(4)}"
                                         f"{TEMPORARY_SUFFIX}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o600)
            break
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        except OSError as problem:
            raise error(f"cannot write the {what} {show_path(path)}: "
                        f"{problem.strerror or problem}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            if fcntl is not None:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            os.chmod(temporary, _file_mode(target))
            write(file)
            file.flush()
            os.fsync(file.fileno())
        # Checked again just before the rename: the destination may have changed meanwhile.
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            raise error(f"cannot write the {what} {show_path(path)}: it became "
                        f"{kind_of(mode)} while the file was being written")
        os.replace(temporary, target)
    except BaseException as problem:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(problem, OSError) and problem.errno and problem.filename is None:
            # A short write (a full disk, a file-size limit) says only "No space left on device":
            # the same error (and subclass), naming the file that was not written.
            raise OSError(problem.errno, problem.strerror, os.fspath(path)) from problem
        raise
    _fsync_folder(folder)
    return target
