"""Settings for the whole test run."""
import torch

# The tests train many tiny models; on a shared machine extra intra-op threads only wait on each other.
torch.set_num_threads(1)
