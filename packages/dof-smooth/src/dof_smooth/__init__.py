"""dof-smooth: The smoothing baseline: box, Gaussian and lens blur with halo-free compositing, on GPU or CPU. torch and kornia only."""
