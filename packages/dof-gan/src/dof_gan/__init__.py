"""dof-gan: CycleGAN with the paper's mask loss and mask overlay: networks, losses, trainer that resumes exactly, inference."""
