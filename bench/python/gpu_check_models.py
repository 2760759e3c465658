"""Models the GPU check exports (bench/gpu-check.sh prepare): no pretrained weights can be fetched, so a
torchvision architecture gets a fixed-seed random initialisation; speed and gradient agreement do not depend on
trained weights."""
import torch
import torchvision


def resnet18(num_classes=10, seed=0):
    torch.manual_seed(seed)
    return torchvision.models.resnet18(num_classes=num_classes)
