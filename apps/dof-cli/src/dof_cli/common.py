"""What every subcommand shares: options, device choice, segmenters, progress, and the
end-of-job failure report.

A batch job never stops at a bad file: it records the file and the reason, goes on, prints a
summary at the end, and exits with status 1 if anything failed (0 when all went well).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote
from typing import TYPE_CHECKING, Any, TypeVar

import click
from tqdm import tqdm

if TYPE_CHECKING:
    from dof_io import PhotoEvent

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])

#: click path types: an existing folder or file, a folder or file to write
DIR = click.Path(exists=True, file_okay=False, path_type=Path)
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
NEW_DIR = click.Path(file_okay=False, path_type=Path)
NEW_FILE = click.Path(dir_okay=False, path_type=Path)
#: click settings of `dof` and `dof-train`; their subcommands inherit them.
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "show_default": True}
#: dof_seg's backends (dof_seg.SEGMENTERS; named here so that --help does not import torch).
SEGMENTER_NAMES = ("selfie", "auto", "people", "deeplabv3", "deeplabv3plus", "precomputed")


def lock_output(folder: Path) -> None:
    """Hold ``dof_io.folder_lock`` on ``folder`` until the command ends, and remove the
    temporary files a killed earlier run left there. Another command writing ``folder``
    makes this one stop at once with a message naming it."""
    import dof_io

    lock = click.get_current_context().with_resource(dof_io.folder_lock(folder))
    lock.remove_stale_temp_files()


def out_dir_option(help: str, *, dest: str = "out_dir") -> Callable[[F], F]:
    """The `-o/--out DIR` option every file-writing subcommand takes (required)."""
    return click.option("-o", "--out", dest, required=True, type=NEW_DIR, help=help)


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    import dof_io

    try:
        return dof_io.parse_size(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


max_memory_option = click.option(
    "--max-memory", callback=_size, default="4GiB",
    help="Memory one photo may use; a larger photo is skipped with a message (0 = no limit).",
)  # fmt: skip
device_option = click.option(
    "--device", default="auto",
    help="torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps.",
)  # fmt: skip


refine_option = click.option(
    "--refine",
    type=click.Choice(["none", "guided", "matting"]),
    help="Refine computed masks at the photo's size with the photo as guide: guided (guided "
    "filter) or matting (closed-form matting around the outline). Default: the segmenter's "
    "measured best (docs/seg.md).",
)


def segmenter_options(default: str | None, help: str, *, files: bool = True) -> Callable[[F], F]:
    """--segmenter, its backend's options (checked by :func:`load_segmenter`) and --refine;
    without ``files``, no `precomputed` backend (its --masks-dir)."""
    names = SEGMENTER_NAMES if files else SEGMENTER_NAMES[:-1]
    options = [
        click.option("--segmenter", type=click.Choice(names), default=default,
                     help=f"{help} (see docs/seg.md)."),
        click.option("--model", type=click.Choice(["general", "landscape"]),
                     help="selfie: general (256x256, default) or landscape (144x256)."),
        click.option("--channels-last", is_flag=True, default=None,
                     help="selfie: run the network in channels_last layout (faster on CPU)."),
        click.option("--backbone", type=click.Choice(["resnet101", "resnet50",
                     "mobilenet_v3_large"]), help="deeplabv3: backbone (default resnet101)."),
        click.option("--checkpoint", type=FILE,
                     help="deeplabv3plus: model.safetensors of `dof seg train`; deeplabv3: .pth."),
        refine_option,
    ]  # fmt: skip
    if files:
        masks_help = "precomputed: folder of existing masks named <photo stem>.png."
        options.insert(-1, click.option("--masks-dir", type=DIR, help=masks_help))

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def load_segmenter(name: str, device: str, refine: str | None = None, **backend: Any) -> Any:
    """dof_seg's segmenter ``name`` on ``device`` with its backend options (None = unset); a
    name or option that does not fit is a usage error."""
    import dof_seg

    try:
        options = dof_seg.backend_options(name, **backend)
        return dof_seg.get_segmenter(name, device=resolve_device(device), refine=refine, **options)
    except dof_seg.DofSegError as err:
        raise click.UsageError(str(err)) from err


def load_generator(path: Path, device: str, direction: str = "AtoB") -> tuple[Any, Any, Any]:
    """A trained generator, what it says of itself, and the segmenter it reads (its prior, or
    None): the three things every command that runs a generator needs."""
    import dof_gan

    generator, info = dof_gan.load_generator_with_info(path, direction=direction, device=device)
    prior = load_segmenter(info.prior, device) if info.prior else None
    return generator, info, prior


def gan_renderers(path: Path, label: str, device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A generator as benchmark/gallery columns labelled ``"GAN <label> (<kind>)"`` (and its
    overlay column where its preset uses it), and its defocus-map column for galleries (none
    for a painting generator)."""
    import dof_gan

    generator, info, prior = load_generator(path, device)
    name = f"GAN {label} ({info.label})"
    renderers = dof_gan.as_renderers(generator, name, overlay=info.overlay, prior=prior)
    maps = {f"{name} map": dof_gan.map_renderer(generator, prior=prior)} if info.has_map else {}
    return renderers, maps


def command_line(ctx: click.Context, *, skip: Iterable[str] = ()) -> str:
    """The command as it ran, for a results page: its path and every parameter that has a
    value, defaults included (so the line keeps its meaning when a default changes; flags and
    repeatable options only when given), in the order the command declares them; ``skip``
    names parameters left out."""
    words, skipped = [ctx.command_path], set(skip)
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        flag = isinstance(param, click.Option) and param.is_flag
        unset = (flag or param.multiple) and not value and value == param.default
        if param.name in skipped or value is None or unset:
            continue
        name = param.opts[0] if isinstance(param, click.Option) else ""
        for item in value if param.multiple else (value,):
            if flag:
                words.append(name if item else (param.secondary_opts or [""])[0])
            else:
                words += [name, *map(_word, item if isinstance(item, tuple) else (item,))]
    return " ".join(word for word in words if word)


def _word(value: object) -> str:
    """A value as a shell word: floats without trailing zeros, the rest quoted where needed."""
    return f"{value:g}" if isinstance(value, float) else quote(str(value))


def resolve_device(name: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; under torchrun 'cuda' is this
    process's own GPU (``dof_io.local_device``); anything else is passed through."""
    import dof_io

    if name == "auto":
        import torch

        name = "cuda" if torch.cuda.is_available() else "cpu"
    return dof_io.local_device(name)


def progress(items: Iterable[T], *, desc: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on stderr; none when stderr is not a terminal (logs stay readable)."""
    bar = tqdm(
        items, desc=desc, total=total, unit="img", dynamic_ncols=True, leave=False, disable=None
    )
    yield from bar


@contextmanager
def progress_callback(desc: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar fed by the packages' ``progress(done, total)`` callbacks."""
    bars: list[tqdm[Any]] = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc=desc, unit="img", dynamic_ncols=True,
                             leave=False, disable=None))  # fmt: skip
        bars[0].n = done
        bars[0].refresh()

    try:
        yield update
    finally:
        for bar in bars:
            bar.close()


@dataclass
class BatchReport:
    """Counts what a batch job did and remembers every failure with its reason."""

    done: int = 0
    skipped: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def fail(self, path: Path, reason: str) -> None:
        self.failures.append((path, reason))
        tqdm.write(f"skipped {path}: {reason}")

    def record(self, events: Iterable[PhotoEvent]) -> BatchReport:
        """Count a batch job's ``dof_io.PhotoEvent`` stream (dof_io.run_planned, dof_seg)."""
        for event in events:
            if event.status == "failed":
                self.fail(event.photo, event.reason)
            elif event.status == "skipped":
                self.skipped += 1
            else:
                self.done += 1
        return self

    def finish(self, what: str) -> None:
        """Print the summary; exit with status 1 when any file failed."""
        parts = [f"{self.done} {what}"]
        if self.skipped:
            parts.append(f"{self.skipped} already done (skipped)")
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        click.echo(", ".join(parts) + ".")
        if self.failures:
            click.echo("Failed files:", err=True)
            for path, reason in self.failures:
                click.echo(f"  {path}: {reason}", err=True)
            raise SystemExit(1)


def run_photos(
    photos: tuple[Path, ...],
    out_dir: Path,
    job: Callable[[list[Path], Path], Iterable[PhotoEvent]],
    *,
    desc: str,
    what: str,
) -> None:
    """The photo loop of `dof seg`, `dof smooth` and `dof apply`: expand PHOTOS (files and
    folders), hold OUT, run the package's ``job(photos, out)`` (which plans the outputs with
    ``dof_io.plan_outputs`` and yields a ``dof_io.PhotoEvent`` per photo), show its progress
    and report (``what`` was done)."""
    import dof_io

    paths = dof_io.expand_inputs(photos)
    lock_output(out_dir)
    total = len(dof_io.photo_share(paths))  # this process's share under torchrun
    BatchReport().record(progress(job(paths, out_dir), desc=desc, total=total)).finish(what)
