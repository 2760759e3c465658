"""Fashion-MNIST as this project's scripts use it (make_samples.py, al_benchmark.py, ood_data.py): Debian's
dataset-fashion-mnist files, the class names, the normalisation our models are trained with, and the layers whose
outputs form the SISOM feature of our Fashion-MNIST ResNets."""
import gzip
import os

import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
MEAN, STD = 0.2860, 0.3530
LAYERS = ["layer1", "layer2", "layer3", "avgpool"]


def read_idx(name):
    """One IDX file of the Debian package (e.g. 'train-images-idx3-ubyte.gz') as a uint8 array."""
    with gzip.open(os.path.join(FMNIST, name), "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def to_tensor(images_u8):
    """N x 28 x 28 uint8 images -> normalised N x 1 x 28 x 28 float tensor."""
    import torch  # only the scripts that train or run models need torch
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD
