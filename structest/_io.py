"""Files: atomic writes (a temporary file in the target folder, then ``os.replace``), the
checks every command makes on its outputs and inputs before any work, and the bundled
``data/`` and ``models/`` folders (in a checkout or an installed wheel)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

from .errors import InputFileError, OutputError, StructestError

#: signatures of the NetCDF formats structest writes (netCDF-4 / HDF5) or reads (classic)
_NETCDF_MAGIC = (b"\x89HDF\r\n\x1a\n", b"CDF\x01", b"CDF\x02", b"CDF\x05")

#: an input: (option that named it, path or None when not given)
Input = tuple[str, "str | Path | None"]


# ----------------------------------------------------------------------------- writes
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _tmp_pattern(name: str) -> re.Pattern[str]:
    # ".<name>.<pid>-<8 random>.tmp" (this version) or ".<name>.<8 random>.tmp" (older)
    return re.compile(rf"^\.{re.escape(name)}\.(?:(\d+)-)?[a-z0-9_]{{8}}\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Remove temporary files of ``path`` left by earlier writes that were killed.

    They are the ``.<name>.<pid>-<random>.tmp`` files next to ``path`` whose process no
    longer runs (and the ``.<name>.<random>.tmp`` files of older versions). A write in
    progress in another live process keeps its file.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    path = Path(path)
    pattern = _tmp_pattern(path.name)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or not entry.is_file(follow_symlinks=False):
            continue
        if m.group(1) is not None and _alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _missing_dirs(folder: Path) -> list[Path]:
    """Folders on the way to ``folder`` that do not exist yet (outermost first)."""
    out = []
    p = folder
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out[::-1]


def remove_empty_dirs(dirs: Iterable[Path]) -> None:
    """Remove the given folders (innermost first) where they are empty; ignore the rest."""
    for d in sorted({Path(x) for x in dirs}, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def cleanup_new_dirs(folder: str | Path | None) -> Iterator[None]:
    """On error, remove the folders up to ``folder`` that the block created and left empty.

    Use around a command's work for a folder output (``report --out``, ``--figures``): a
    failed command leaves no empty folders behind.
    """
    if folder is None:
        yield
        return
    folder = Path(folder).absolute()
    new = _missing_dirs(folder)
    try:
        yield
    except BaseException:
        if new:
            created = [p for p in folder.rglob("*") if p.is_dir()] if folder.is_dir() else []
            remove_empty_dirs([*created, *new])
        raise


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` in one step.

    A reader never sees a half-written file; on error the temporary file is removed,
    ``path`` is left as it was and the folders created for it are removed again.
    Temporary files of the same target left by a killed earlier write are removed first
    (:func:`remove_stale_temps`). The file gets the mode of the file it replaces, or the
    default mode (``0o666`` less the umask) for a new file.

    Raises
    ------
    OutputError
        ``path`` is an existing directory.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    new_dirs = _missing_dirs(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent
        )
    except BaseException:
        remove_empty_dirs(new_dirs)
        raise
    os.close(fd)
    try:
        write(tmp)
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as fh:  # on disk before the rename (power loss)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        remove_empty_dirs(new_dirs)
        raise
    with contextlib.suppress(OSError):  # the rename itself on disk (best effort)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


# ---------------------------------------------------------------- checks before work
def _nearest_existing(p: Path) -> Path:
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _probe_writable(folder: Path, what: str, shown: str) -> None:
    """Create and remove a file in ``folder``: the only test that holds for root too."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".structest-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(
            f"{what} {shown}: cannot write in {folder} ({exc.strerror or exc})"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _looks_like(path: Path, fmt: str) -> bool:
    """Whether an existing file (or folder) is of the kind ``fmt`` (empty files pass)."""
    if fmt == "dir":
        return path.is_dir()
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if not head:
        return True
    if fmt == "netcdf":
        return head.startswith(_NETCDF_MAGIC)
    if fmt == "html":
        return b"structest" in head.lower()
    return True


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_FORMAT_NAMES = {"netcdf": "a NetCDF file", "html": "a structest report page", "dir": "a folder"}


def _refuse_replacing(p: Path, what: str, shown: str, fmt: str | None, example: str) -> None:
    """Refuse an existing ``p`` that a file output may not replace: a folder, anything
    that is not a regular file, or (``fmt``) a non-empty file of another kind."""
    if not os.path.lexists(p):
        return
    if p.is_dir():
        raise OutputError(f"{what} {shown}: is a folder; give a file name (e.g. {p / example})")
    if not p.is_file():
        raise OutputError(f"{what} {shown}: exists and is not a regular file")
    if fmt is not None and not _looks_like(p, fmt):
        raise OutputError(
            f"{what} {shown}: exists and is not {_FORMAT_NAMES.get(fmt, fmt)}; "
            "refusing to overwrite it (remove it or choose another name)"
        )


def check_output(
    path: str | Path,
    *,
    inputs: Iterable[Input] = (),
    kind: Literal["file", "dir"] = "file",
    what: str = "--out",
    fmt: str | None = None,
    contents: Mapping[str, str] | None = None,
) -> Path:
    """Refuse an unusable output path before any work; create nothing.

    Parameters
    ----------
    path
        The output (a file, or a folder the command writes into).
    inputs
        ``(option, path)`` pairs of the command's input files and folders (None: not
        given); the output may not be one of them (nor, for a folder, contain one under
        a name in ``contents``).
    kind
        ``"file"`` or ``"dir"``.
    what
        The option that named the output, for the message.
    fmt
        For a file: an existing ``path`` must be of this kind (``"netcdf"``) to be
        replaced.
    contents
        For a folder: ``name -> kind`` (``"netcdf"``, ``"html"``, ``"dir"`` or ``""``) of
        the entries the command writes; existing ones must be of that kind.

    Returns
    -------
    pathlib.Path
        ``path`` with ``~`` expanded.

    Raises
    ------
    OutputError
        One line naming the option and the path: the output is an input, an existing
        folder where a file is due (or a file where a folder is due), an existing file of
        another kind, or its folder cannot be created or written.
    """
    p = Path(path).expanduser()
    shown = str(path)
    if str(path).strip() == "":
        raise OutputError(f"{what}: empty path")
    ins = [(opt, Path(x).expanduser()) for opt, x in inputs if x is not None]
    exists = os.path.lexists(p)
    if kind == "file":
        _refuse_replacing(p, what, shown, None, "out.nc")
        for opt, x in ins:
            if exists and _same(p, x):
                raise OutputError(
                    f"{what} {shown} is the input {opt} {x}: writing would destroy it; "
                    "choose another output name"
                )
        _refuse_replacing(p, what, shown, fmt, "out.nc")
        folder = _nearest_existing(p.parent)
    elif kind == "dir":
        if exists and not p.is_dir():
            raise OutputError(f"{what} {shown}: exists and is not a folder")
        for opt, x in ins:
            if exists and _same(p, x):
                raise OutputError(f"{what} {shown} is the input {opt} {x}; choose another folder")
            for name in contents or {}:
                if os.path.lexists(p / name) and _same(p / name, x):
                    raise OutputError(
                        f"{what} {shown}: writing {name} there would destroy the input "
                        f"{opt} {x}; choose another folder"
                    )
        for name, want in (contents or {}).items():
            q = p / name
            if want and os.path.lexists(q) and not _looks_like(q, want):
                raise OutputError(
                    f"{what} {shown}: {q} exists and is not {_FORMAT_NAMES.get(want, want)}; "
                    "refusing to overwrite it (remove it or choose another folder)"
                )
        folder = _nearest_existing(p)
    else:
        raise ValueError(f"check_output: kind must be 'file' or 'dir', got {kind!r}")
    if not folder.is_dir():
        raise OutputError(f"{what} {shown}: {folder} is a file, not a folder")
    _probe_writable(folder, what, shown)
    return p


def check_distinct(*outputs: tuple[str, str | Path | None]) -> None:
    """Refuse two outputs of one command that name the same path.

    Raises
    ------
    OutputError
        Two of ``(option, path)`` resolve to the same place.
    """
    seen: dict[Path, str] = {}
    for opt, x in outputs:
        if x is None:
            continue
        key = Path(x).expanduser().absolute().resolve()
        if key in seen:
            raise OutputError(f"{opt} {x} is also given as {seen[key]}; give different paths")
        seen[key] = opt


#: what a path that is not a regular file is, from its ``stat`` mode
_SPECIAL_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind_of(mode: int) -> str:
    return next((k for test, k in _SPECIAL_KINDS if test(mode)), "not a plain file")


def check_input_file(path: str | Path, what: str) -> Path:
    """Refuse, from its ``stat`` alone (nothing is read), an input that is not a regular file.

    A FIFO would block a reader forever and a device (``/dev/zero``, also through a
    symbolic link) never ends, so both are refused before any read.

    Parameters
    ----------
    path
        The input file.
    what
        The option (or description) that named it, for the message.

    Returns
    -------
    pathlib.Path
        ``path`` with ``~`` expanded.

    Raises
    ------
    InputFileError
        ``path`` does not exist ("file not found"), cannot be accessed, or exists and is
        not a regular file (a folder, FIFO, device, socket: "is not a regular file").
    """
    p = Path(path).expanduser()
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        raise InputFileError(f"{what} {path}: file not found") from None
    except OSError as exc:
        raise InputFileError(f"{what} {path}: cannot access it ({exc.strerror or exc})") from None
    except ValueError as exc:  # NUL in the path
        raise InputFileError(f"{what} {path!r}: invalid path ({exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(
            f"{what} {path}: is not a regular file ({_kind_of(st.st_mode)}); refusing to read it"
        )
    return p


def refuse_overwrite_non_netcdf(path: str | Path, what: str) -> Path:
    """Refuse to replace an existing path that is not a NetCDF file (nor empty).

    For the Python API's ``save`` functions (the CLI checks ``--out`` with
    :func:`check_output`): a CSV, a text file or a folder given by mistake is never
    replaced by a NetCDF file.

    Parameters
    ----------
    path
        The output file.
    what
        What is being saved (``"StructuralFit.save"``), for the message.

    Returns
    -------
    pathlib.Path
        ``path`` with ``~`` expanded.

    Raises
    ------
    OutputError
        ``path`` is empty, an existing folder or other non-regular file, or an existing
        non-empty file without a NetCDF/HDF5 signature.
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise OutputError(f"{what}: expected a file path, got {type(path).__name__}")
    if str(path).strip() == "":
        raise OutputError(f"{what}: empty path")
    p = Path(path).expanduser()
    _refuse_replacing(p, what, str(path), "netcdf", "fit.nc")
    return p


def check_netcdf_input(path: str | Path, what: str = "--fit") -> Path:
    """Refuse, before any work, an input that is not a NetCDF file (empty, text, ...).

    Raises
    ------
    InputFileError
        ``path`` is missing, not a regular file (folder, FIFO, device), empty or has no
        NetCDF/HDF5 signature.
    """
    p = check_input_file(path, what)
    if p.stat().st_size == 0:
        raise InputFileError(f"{what} {path}: the file is empty (0 bytes)")
    if not _looks_like(p, "netcdf"):
        raise InputFileError(
            f"{what} {path}: not a NetCDF file (expected a fit written by `structest fit --out`)"
        )
    return p


@contextlib.contextmanager
def reading(what: str, path: str | Path) -> Iterator[None]:
    """Turn a library's OSError/ValueError on reading ``path`` into an InputFileError.

    Errors structest raises itself (:class:`~structest.errors.StructestError`) pass
    unchanged.
    """
    try:
        yield
    except StructestError:
        raise
    except (OSError, ValueError, KeyError, EOFError, UnicodeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(msg) > 200:
            msg = msg[:197] + "..."
        raise InputFileError(f"{what} {path}: cannot read it ({msg})") from exc


@contextlib.contextmanager
def writing(what: str, path: str | Path) -> Iterator[None]:
    """Turn an OSError on writing ``path`` (disk full, permissions) into an OutputError."""
    try:
        yield
    except StructestError:
        raise
    except OSError as exc:
        raise OutputError(f"{what} {path}: cannot write it ({exc.strerror or exc})") from exc


# ------------------------------------------------------------ command-line values
def float_option(
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[float | None], float | None]:
    """A typer option callback: the value must be finite and lie in the given range.

    NaN and infinities are refused (click's own ranges let NaN through).
    """

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        lo_ok = low is None or (value > low if low_open else value >= low)
        hi_ok = high is None or (value < high if high_open else value <= high)
        if not (math.isfinite(value) and lo_ok and hi_ok):
            import typer

            a = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
            b = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
            rng = " and ".join(x for x in (a, b) if x)
            raise typer.BadParameter(
                f"must be a finite number{' ' + rng if rng else ''}, got {value!r}"
            )
        return value

    return check


# ----------------------------------------------------------------- bundled folders
def _bundled(kind: str) -> Path:
    # installed wheel: files are force-included under structest/_bundled/<kind>
    inside = Path(str(resources.files("structest"))) / "_bundled" / kind
    if inside.is_dir():
        return inside
    # checkout / editable install: <repo>/<kind>
    repo = Path(__file__).resolve().parent.parent / kind
    if repo.is_dir():
        return repo
    raise InputFileError(
        f"bundled '{kind}/' directory not found (looked in {inside} and {repo}); "
        "reinstall structest"
    )


def data_dir() -> Path:
    """Directory holding the bundled data files and data card."""
    return _bundled("data")


def models_dir() -> Path:
    """Directory holding the bundled model specifications."""
    return _bundled("models")
