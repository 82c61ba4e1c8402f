"""dof-eval: loss curves, galleries, metrics (subject preservation, defocus, halo, FID/KID, IoU),
reports and the paired benchmark. It reads files; it imports none of the other dof packages'
models (the app passes methods in as callables)."""

from dof_eval.credits import Attribution, read_attributions
from dof_eval.curves import (
    ema_smooth,
    fig15_cycle_loss,
    fig16_mask_loss,
    plot_curves,
    plot_loss_grid,
)
from dof_eval.defocus import (
    DefocusRatio,
    FocusRatio,
    defocus_ratio,
    focus_ratio,
    high_frequency_energy,
)
from dof_eval.docblock import read_block, replace_block, write_block
from dof_eval.errors import (
    DatasetError,
    DofEvalError,
    FeatureExtractorError,
    LogFormatError,
    ManifestError,
    NotEnoughSamplesError,
    ShapeError,
)
from dof_eval.evaluate import DEFINITIONS, Metrics, score_realism, score_renders, write_metrics
from dof_eval.extractors import EXTRACTORS, get_extractor, inception_weights_path
from dof_eval.gallery import Gallery, GalleryRow, contact_sheet, gallery_from_renders, write_gallery
from dof_eval.halo import HaloLeakage, halo_leakage
from dof_eval.logs import RunLog, read_run
from dof_eval.paired_build import (
    PairedConfig,
    build_paired,
    defocus_background,
    lens_blur,
    lens_kernel,
)
from dof_eval.paired_gallery import paired_gallery
from dof_eval.paired_score import (
    SCORES,
    TABLE_SCORES,
    PairedSet,
    load_paired,
    paired_markdown,
    run_paired,
    score_pair,
    write_paired_results,
)
from dof_eval.paired_train import TrainSetConfig, build_train_set
from dof_eval.photos import EvalPhoto, find_photos
from dof_eval.realism import extract_features, feature_statistics, fid, fid_from_statistics, kid
from dof_eval.render import RenderSet, on_device, render_columns
from dof_eval.report import ReportFiles, build_report
from dof_eval.samples import sample_progression, sample_steps
from dof_eval.subject import (
    SubjectPreservation,
    masked_psnr,
    masked_ssim,
    ssim_map,
    subject_preservation,
)

__all__ = [
    "DEFINITIONS",
    "EXTRACTORS",
    "SCORES",
    "TABLE_SCORES",
    "Attribution",
    "DatasetError",
    "DefocusRatio",
    "DofEvalError",
    "EvalPhoto",
    "FeatureExtractorError",
    "FocusRatio",
    "Gallery",
    "GalleryRow",
    "HaloLeakage",
    "LogFormatError",
    "ManifestError",
    "Metrics",
    "NotEnoughSamplesError",
    "PairedConfig",
    "PairedSet",
    "RenderSet",
    "ReportFiles",
    "RunLog",
    "ShapeError",
    "SubjectPreservation",
    "TrainSetConfig",
    "build_paired",
    "build_report",
    "build_train_set",
    "contact_sheet",
    "defocus_background",
    "defocus_ratio",
    "ema_smooth",
    "extract_features",
    "feature_statistics",
    "fid",
    "fid_from_statistics",
    "fig15_cycle_loss",
    "fig16_mask_loss",
    "find_photos",
    "focus_ratio",
    "gallery_from_renders",
    "get_extractor",
    "halo_leakage",
    "high_frequency_energy",
    "inception_weights_path",
    "kid",
    "lens_blur",
    "lens_kernel",
    "load_paired",
    "masked_psnr",
    "masked_ssim",
    "on_device",
    "paired_gallery",
    "paired_markdown",
    "plot_curves",
    "plot_loss_grid",
    "read_attributions",
    "read_block",
    "read_run",
    "render_columns",
    "replace_block",
    "run_paired",
    "sample_progression",
    "sample_steps",
    "score_pair",
    "score_realism",
    "score_renders",
    "ssim_map",
    "subject_preservation",
    "write_block",
    "write_gallery",
    "write_metrics",
    "write_paired_results",
]
