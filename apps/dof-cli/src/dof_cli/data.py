"""`dof data`: build the unpaired dataset (scrape, import, dedup, filter, prepare, credits) and
the synthetic one (synth).

Wiring only: the work is in dof_data. Every subcommand takes --root, the dataset folder that
holds manifest.sqlite and images/ (default ./dof-dataset, or $DOF_DATA_ROOT).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dof_cli.common import (
    DIR,
    NEW_DIR,
    NEW_FILE,
    BatchReport,
    lock_output,
    out_dir_option,
    progress_callback,
    resolve_device,
)

if TYPE_CHECKING:
    import dof_data

root_option = click.option(
    "--root", type=NEW_DIR, default="dof-dataset",
    envvar="DOF_DATA_ROOT", help="Dataset folder: manifest.sqlite and images/ (env DOF_DATA_ROOT).",
)  # fmt: skip


def _open(root: Path, *, create: bool = False, lock: bool = True) -> dof_data.Manifest:
    """The manifest; commands that change the dataset hold its lock until they close it."""
    from dof_data import Manifest

    return Manifest(root, create=create, lock=lock)


@click.group()
def data() -> None:
    """Build the unpaired portrait dataset: A = ordinary, B = shallow depth of field.

    \b
    dof data scrape --preset paper        # the paper's two Flickr queries (needs a key)
    dof data import ~/photos --domain A   # photos you already have
    dof data dedup && dof data filter     # mark duplicates and unfit photos (nothing deleted)
    dof data prepare                      # trainA/ testA/ trainB/ testB/ at 256x256
    dof data credits --out credits.md     # attribution for every kept photo
    """


@data.command()
@root_option
@click.option("--preset", type=click.Choice(["paper"]), help="Named queries (the paper's A and B).")
@click.option("--text", help="Free-text search, e.g. 'portrait bokeh'.")
@click.option("--exclude", multiple=True, help="Term to exclude (-term); repeat the option.")
@click.option("--tags", help="Comma-separated tags.")
@click.option("--tag-mode", type=click.Choice(["any", "all"]), default="any")
@click.option("--domain", type=click.Choice(["A", "B"]), help="A = ordinary, B = shallow DoF.")
@click.option("--name", help="Label of this query in the manifest (default custom-<domain>).")
@click.option("--camera", help="Flickr camera, e.g. apple/iphone_7 (undocumented in the API).")
@click.option("--license", "license", help="Flickr licence ids to accept, e.g. 4,5,9,10.")
@click.option("--content-type", type=int, default=1, help="1 = photos; 0 = any.")
@click.option("--sort", help="Flickr sort, e.g. relevance (default: Flickr's, newest first).")
@click.option("--min-upload", help="Uploaded on or after: YYYY-MM-DD or unix seconds.")
@click.option("--max-upload", help="Uploaded on or before: YYYY-MM-DD or unix seconds.")
@click.option("--min-taken", help="Taken on or after: YYYY-MM-DD.")
@click.option("--max-taken", help="Taken on or before: YYYY-MM-DD.")
@click.option("--sizes", default="h,l,c,z", help="Size preference (h=1600px).")
@click.option("--per-page", type=click.IntRange(1, 500), default=500)
@click.option(
    "--max-photos", type=click.IntRange(min=0), default=4000, help="Candidates a query (0 = all)."
)
@click.option("--key-file", type=NEW_FILE, help="Flickr API key file (else $DOF_FLICKR_API_KEY).")
@click.option("--api-url", default=None, help="Flickr REST endpoint (for testing).")
@click.option("--calls-per-hour", type=float, default=3000.0, help="API rate limit (Flickr: 3600).")
@click.option(
    "--cap", type=click.IntRange(min=1), default=4000,
    help="Flickr's result cap per query; larger searches are split by upload date.",
)  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 32), default=4)
@click.option("--timeout", type=float, default=30.0, help="Seconds per read.")
@click.option("--attempts", type=click.IntRange(1, 20), default=4)
@click.option("--search-only", is_flag=True, help="Collect candidates, download nothing.")
@click.option("--retry-failed", is_flag=True, help="Try failed downloads again.")
def scrape(root: Path, **options: Any) -> None:
    """Search Flickr and download the photos into the manifest (resumable: rerun to go on)."""
    import dof_data

    try:
        job = dof_data.ScrapeJob.from_options(options)
    except dof_data.ConfigError as err:  # the options do not make a query: a usage error
        raise click.UsageError(str(err)) from None
    with _open(root, create=True) as manifest, progress_callback("downloading") as progress:
        summary = job.run(manifest, progress=progress)
    click.echo(summary.describe())


@data.command(name="import")
@root_option
@click.argument("folder", type=DIR)
@click.option("--domain", type=click.Choice(["A", "B"]), required=True)
@click.option("--recursive", is_flag=True, help="Include subfolders.")
@click.option("--license", "license_id", help="Flickr-style licence id for these photos.")
@click.option("--owner", default="", show_default=False, help="Author to credit.")
def import_(
    root: Path, folder: Path, domain: str, recursive: bool, license_id: str | None, owner: str
) -> None:
    """Bring a folder of photos you already have into the manifest (copied, never moved)."""
    from dof_data import import_folder

    with _open(root, create=True) as manifest, progress_callback("importing") as bar:
        summary = import_folder(manifest, folder, domain, recursive=recursive,
                                license_id=license_id, owner_name=owner, progress=bar)  # fmt: skip
    report = BatchReport(done=summary.added, skipped=summary.skipped)
    for path, reason in summary.failed:
        report.fail(path, reason)
    report.finish(f"photos imported into domain {domain}")


@data.command()
@root_option
@click.option("--exact/--no-exact", default=True, help="Same sha256.")
@click.option("--paper-rule/--no-paper-rule", default=True, help="Same size and bytes in a domain.")
@click.option(
    "--near-threshold", type=click.IntRange(0, 64), default=6,
    help="Perceptual-hash Hamming distance for near duplicates.",
)  # fmt: skip
@click.option("--no-near", is_flag=True, help="Skip near duplicates.")
@click.option(
    "--small-bytes", type=click.IntRange(min=0), default=100 * 1024,
    help="The author's filter: files of at most this many bytes.",
)  # fmt: skip
@click.option("--no-small", is_flag=True, help="Skip the small-file filter.")
@click.option(
    "--report", type=NEW_FILE,
    help="What was removed and why, .csv or .md [default: ROOT/dedup-report.md]",
)  # fmt: skip
def dedup(root: Path, no_near: bool, no_small: bool, report: Path | None, **options: Any) -> None:
    """Mark duplicates (files are kept; their status becomes 'removed')."""
    from dof_data import DedupConfig, write_report
    from dof_data import dedup as run_dedup

    if no_near:
        options["near_threshold"] = None
    if no_small:
        options["small_bytes"] = None
    with _open(root) as manifest:
        result = run_dedup(manifest, DedupConfig(**options))
        path = write_report([result], report or root / "dedup-report.md")
    click.echo(result.summary())
    click.echo(f"report: {path}")


def _person_filter(
    manifest: dof_data.Manifest, wanted: bool | None, min_person: float, device: str
) -> dof_data.StageReport | None:
    """Run the person filter (dof_seg.person_fraction) when dof-seg's selfie segmenter is
    there; say so when it is not."""
    from dof_data import filter_no_person

    try:
        import dof_seg

        segmenter = dof_seg.get_segmenter("selfie", device=resolve_device(device))
    except Exception as err:  # ImportError, missing weights: dof-seg is optional here
        message = f"the person filter needs dof-seg's selfie segmenter, unavailable here ({err})"
        if wanted:
            raise click.ClickException(f"{message}: install dof-seg, or pass --no-person") from None
        click.echo(f"note: {message}; skipped (--no-person silences this)", err=True)
        return None
    fraction = partial(dof_seg.person_fraction, segmenter)
    with progress_callback("finding people") as progress:
        return filter_no_person(manifest, fraction, min_fraction=min_person, progress=progress)


@data.command(name="filter")
@root_option
@click.option("--monochrome/--no-monochrome", default=True)
@click.option("--max-chroma", type=float, default=1.5, help="Chroma spread of a monochrome photo.")
@click.option("--small/--no-small", default=True)
@click.option("--min-side", type=click.IntRange(min=1), default=256)
@click.option(
    "--person/--no-person", default=None,
    help="Mark photos with no person [default: if dof-seg is there]",
)  # fmt: skip
@click.option(
    "--min-person", type=click.FloatRange(0, 1), default=0.02,
    help="Smallest fraction of the frame a person must cover.",
)  # fmt: skip
@click.option("--camera", help="Mark domain-A photos of another EXIF camera (e.g. 'iPhone 7').")
@click.option("--device", default="auto", help="torch device for dof-seg.")
@click.option(
    "--report", type=NEW_FILE,
    help="What was removed and why, .csv or .md [default: ROOT/filter-report.md]",
)  # fmt: skip
def filter_(
    root: Path, monochrome: bool, max_chroma: float, small: bool, min_side: int,
    person: bool | None, min_person: float, camera: str | None, device: str, report: Path | None,
) -> None:  # fmt: skip
    """Mark unfit photos: black-and-white, too small, no person, wrong camera."""
    from dof_data import filter_camera, filter_monochrome, filter_small, write_report

    with _open(root) as manifest:
        reports = []
        if monochrome:
            with progress_callback("checking colour") as bar:
                reports.append(filter_monochrome(manifest, max_spread=max_chroma, progress=bar))
        if small:
            reports.append(filter_small(manifest, min_side=min_side))
        if person is not False:
            found = _person_filter(manifest, person, min_person, device)
            reports += [found] if found else []
        if camera:
            reports.append(filter_camera(manifest, camera))
        path = write_report(reports, report or root / "filter-report.md")
    for result in reports:
        click.echo(result.summary())
    click.echo(f"report: {path}")


@data.command()
@root_option
@click.option("--out", type=NEW_DIR, help="Output folder [default: ROOT/prepared]")
@click.option("--size", type=click.IntRange(min=8), default=256)
@click.option("--seed", type=int, default=0)
@click.option("--test-a", type=click.IntRange(min=0), default=100)
@click.option("--test-b", type=click.IntRange(min=0), default=0)
@click.option("--format", "fmt", type=click.Choice(["jpg", "png"]), default="jpg")
def prepare(
    root: Path, out: Path | None, size: int, seed: int, test_a: int, test_b: int, fmt: str
) -> None:
    """Centre-crop, resize and split the kept photos into trainA/ testA/ trainB/ testB/."""
    from dof_data import PrepareConfig
    from dof_data import prepare as run_prepare

    target = out or root / "prepared"
    with _open(root) as manifest, progress_callback("preparing") as progress:
        config = PrepareConfig(size=size, seed=seed, test_a=test_a, test_b=test_b, format=fmt)
        summary = run_prepare(manifest, target, config, progress=progress)
    click.echo(summary.describe(target))
    if summary.failed:
        raise SystemExit(1)


@data.command()
@root_option
def status(root: Path) -> None:
    """Photos per domain and status."""
    with _open(root, lock=False) as manifest:
        click.echo(manifest.status_table())


@data.command()
@root_option
@click.option("--out", type=NEW_FILE, help="credits.csv or credits.md [default: ROOT/credits.md]")
def credits(root: Path, out: Path | None) -> None:
    """Owner, licence and Flickr page of every kept photo, for redistribution."""
    from dof_data import write_credits

    with _open(root, lock=False) as manifest:
        path = write_credits(manifest, out or root / "credits.md")
    click.echo(f"credits: {path}")


@data.command()
@click.option(
    "--source", required=True, type=DIR, help="coco-person style: images/ masks/ manifest.csv"
)
@out_dir_option("Dataset folder: trainA/ trainB/ testA/ testB/ test/ dataset.json.")
@click.option(
    "--n-train", default=2000,
    help="Items per training domain; 0 builds only the held-out test items (same bytes).",
)  # fmt: skip
@click.option("--n-test", default=48, help="Held-out paired test items.")
@click.option("--test-photos", default=10, help="Source photos kept for the test.")
@click.option("--size", default=128, help="Side of the square items.")
@click.option("--radius", default=4.0, help="Defocus disk radius, pixels.")
@click.option(
    "--source-scale", default=0.5, help="Scale of the sources before cutting backgrounds."
)
@click.option("--seed", default=0)
def synth(source: Path, out_dir: Path, **config: Any) -> None:
    """The synthetic unpaired training set (dof_eval.build_train_set), with a known answer for
    its held-out test items.

    \b
    A = real people over real backgrounds, sharp; B = the same construction with the
    background defocused by a lens disk in linear light (never the same person-background
    pair as an A item). Test items come from source photos no training item uses.
    """
    import dof_eval

    lock_output(out_dir)
    index = dof_eval.build_train_set(source, out_dir, dof_eval.TrainSetConfig(**config))
    click.echo(f"dataset: {index} (held-out paired test items: {index.parent / 'test'})")
