"""dof-seg: Person masks: a built-in offline MediaPipe selfie segmenter, DeepLabV3, DeepLabV3+, precomputed masks."""
