"""dof-gan: CycleGAN with the paper's mask loss and mask overlay.

Networks, losses, the paper's four presets, a trainer that resumes exactly, and inference on
photos of any size. Paper names: G: A -> B (ordinary -> shallow depth of field), F: B -> A,
D_A and D_B judge domains A and B; see ``dof_gan.config`` for the weights and docs/gan.md for
the map from the paper's equations to this code.
"""

from dof_gan.config import (
    PRESETS,
    DataConfig,
    DiscriminatorConfig,
    GeneratorConfig,
    LossConfig,
    Preset,
    TrainConfig,
    config_to_dict,
    config_to_json,
    mask_weights,
)
from dof_gan.data import EpochPlanner, UnpairedDataset, check_dataset
from dof_gan.errors import (
    CheckpointError,
    ConfigError,
    DatasetError,
    DofGanError,
    MemoryBudgetError,
    RunFolderError,
    ShapeError,
    WeightsError,
)
from dof_gan.inference import (
    GeneratorInfo,
    Renderer,
    apply_files,
    apply_to_photo,
    as_renderers,
    check_translate_memory,
    export_generator,
    Prior,
    find_mask,
    load_generator,
    load_generator_with_info,
    load_renderers,
    map_renderer,
    translate,
    translate_with_map,
)
from dof_gan.losses import (
    CycleGANLoss,
    GANLoss,
    MaskLoss,
    MaskOverlay,
    cut_out,
    cycle_loss,
    gan_loss,
    identity_loss,
    mask_loss,
    mask_overlay,
)
from dof_gan.networks import (
    PatchDiscriminator,
    ResnetGenerator,
    build_discriminator,
    build_generator,
)
from dof_gan.options import config_from_dict, config_from_options, resume_config
from dof_gan.pool import ImagePool
from dof_gan.run import command_config, load_run_config, train
from dof_gan.runlog import LOSS_NAMES, read_log
from dof_gan.steps import Batch, CycleGAN, discriminator_step, generator_step
from dof_gan.trainer import Trainer, TrainResult
from dof_gan.vgg import VGGFeatures, build_vgg, vgg_checkpoint_path

__all__ = [
    "LOSS_NAMES",
    "PRESETS",
    "Batch",
    "CheckpointError",
    "ConfigError",
    "CycleGAN",
    "CycleGANLoss",
    "DataConfig",
    "DatasetError",
    "DiscriminatorConfig",
    "DofGanError",
    "EpochPlanner",
    "GANLoss",
    "GeneratorConfig",
    "GeneratorInfo",
    "ImagePool",
    "LossConfig",
    "MaskLoss",
    "MaskOverlay",
    "MemoryBudgetError",
    "PatchDiscriminator",
    "Preset",
    "Renderer",
    "ResnetGenerator",
    "RunFolderError",
    "ShapeError",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "UnpairedDataset",
    "VGGFeatures",
    "WeightsError",
    "apply_files",
    "apply_to_photo",
    "as_renderers",
    "build_discriminator",
    "build_generator",
    "build_vgg",
    "check_dataset",
    "check_translate_memory",
    "command_config",
    "config_from_dict",
    "config_from_options",
    "config_to_dict",
    "config_to_json",
    "cut_out",
    "cycle_loss",
    "discriminator_step",
    "export_generator",
    "Prior",
    "find_mask",
    "gan_loss",
    "generator_step",
    "identity_loss",
    "load_generator",
    "load_generator_with_info",
    "load_renderers",
    "map_renderer",
    "load_run_config",
    "mask_loss",
    "mask_overlay",
    "mask_weights",
    "read_log",
    "resume_config",
    "train",
    "translate",
    "translate_with_map",
    "vgg_checkpoint_path",
]
