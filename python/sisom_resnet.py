"""CIFAR-style ResNet18 layout (3x3 stem, no max-pool, four stages of two BasicBlocks) with configurable width.

Used for the bundled Fashion-MNIST sample model. The child modules are registered in forward order
(conv1, bn1, relu, layer1..layer4, avgpool, fc), which is what the SISOM exporter needs to split the network
into stages (see sisom_export.py).
"""
import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.downsample(x))


class CifarResNet18(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 64):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(in_channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU()
        self.layer1 = self._stage(w, w, 1)
        self.layer2 = self._stage(w, 2 * w, 2)
        self.layer3 = self._stage(2 * w, 4 * w, 2)
        self.layer4 = self._stage(4 * w, 8 * w, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * w, num_classes)

    @staticmethod
    def _stage(in_planes, planes, stride):
        return nn.Sequential(BasicBlock(in_planes, planes, stride), BasicBlock(planes, planes, 1))

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(num_classes: int = 10, in_channels: int = 1, width: int = 16) -> CifarResNet18:
    """Factory used by the exporter's --factory option."""
    return CifarResNet18(num_classes=num_classes, in_channels=in_channels, width=width)
