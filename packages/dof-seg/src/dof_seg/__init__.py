"""dof-seg: person masks from four backends; `selfie` is built in and works offline.

import dof_seg
segmenter = dof_seg.get_segmenter("selfie")          # or auto, people, deeplabv3, ...
segmenter = dof_seg.get_segmenter("auto", refine="guided")  # refined at the photo's size
masks = segmenter(images)                            # (B, 3, H, W) in [0, 1] -> (B, 1, H, W)
masks = dof_seg.keep_main_subject(masks, "largest")  # drop people behind the subject
labels = dof_seg.label_people(masks)                 # (B, 1, H, W) int: 0 nobody, 1..n people
dof_seg.segment_files(paths, "masks/", segmenter)    # <stem>.png RGBA files, resumable
"""

from dof_seg.base import Segmenter
from dof_seg.deeplab import VOC_PERSON, DeepLabV3Segmenter
from dof_seg.deeplabv3plus import DeepLabV3PlusSegmenter, DeepLabV3PlusSpec
from dof_seg.errors import (
    ConversionError,
    DofSegError,
    MaskNotFoundError,
    OptionError,
    RunFolderError,
    ShapeError,
    TrainDataError,
    UnknownSegmenterError,
    WeightsNotFoundError,
)
from dof_seg.evaluate import EvalResult, MaskScore, boundary_f_score, evaluate_masks
from dof_seg.files import (
    SegmentEvent,
    SegmentReport,
    iter_segment_files,
    output_path,
    segment_files,
)
from dof_seg.fraction import person_fraction
from dof_seg.graph_net import GraphNet
from dof_seg.instances import fill_labels, label_people, person_at, select_people
from dof_seg.people import AutoSegmenter, PeopleSegmenter
from dof_seg.pose import Person, detect_people, load_pose_net, pose_masks
from dof_seg.postprocess import (
    PostProcess,
    PostProcessConfig,
    check_images,
    fill_holes,
    keep_main_subject,
    postprocess,
    threshold_masks,
)
from dof_seg.precomputed import PrecomputedSegmenter
from dof_seg.refine import (
    REFINE_MODES,
    Refine,
    RefineConfig,
    guided_refine,
    matting_refine,
    refine_masks,
    trimap,
)
from dof_seg.registry import (
    BACKEND_OPTIONS,
    DEFAULT_REFINE,
    DEFAULT_SEGMENTER,
    SEGMENTERS,
    backend_options,
    get_segmenter,
    source_names,
    split_source,
)
from dof_seg.selfie import SELFIE_MODELS, SelfieSegmenter, mediapipe_resize
from dof_seg.selfie_net import SelfieNet
from dof_seg.train import TrainConfig, train_deeplabv3plus

__all__ = [
    "BACKEND_OPTIONS",
    "DEFAULT_REFINE",
    "DEFAULT_SEGMENTER",
    "REFINE_MODES",
    "SEGMENTERS",
    "SELFIE_MODELS",
    "VOC_PERSON",
    "AutoSegmenter",
    "ConversionError",
    "DeepLabV3PlusSegmenter",
    "DeepLabV3PlusSpec",
    "DeepLabV3Segmenter",
    "DofSegError",
    "EvalResult",
    "GraphNet",
    "MaskNotFoundError",
    "MaskScore",
    "OptionError",
    "PeopleSegmenter",
    "Person",
    "PostProcess",
    "PostProcessConfig",
    "PrecomputedSegmenter",
    "Refine",
    "RefineConfig",
    "RunFolderError",
    "SegmentEvent",
    "SegmentReport",
    "Segmenter",
    "SelfieNet",
    "SelfieSegmenter",
    "ShapeError",
    "TrainConfig",
    "TrainDataError",
    "UnknownSegmenterError",
    "WeightsNotFoundError",
    "backend_options",
    "boundary_f_score",
    "check_images",
    "detect_people",
    "evaluate_masks",
    "fill_holes",
    "fill_labels",
    "get_segmenter",
    "guided_refine",
    "iter_segment_files",
    "keep_main_subject",
    "label_people",
    "load_pose_net",
    "matting_refine",
    "mediapipe_resize",
    "output_path",
    "person_at",
    "person_fraction",
    "pose_masks",
    "postprocess",
    "refine_masks",
    "segment_files",
    "select_people",
    "source_names",
    "split_source",
    "threshold_masks",
    "train_deeplabv3plus",
    "trimap",
]
