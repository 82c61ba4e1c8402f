"""dof-eval: Loss curves, galleries, metrics (subject preservation, defocus, halo, FID/KID, IoU) and reports."""
