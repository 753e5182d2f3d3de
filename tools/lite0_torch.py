"""EfficientNet-Lite0 in PyTorch for the shipped checkpoint (keys `_conv_stem`, `_blocks.N…`), so
the Python peers (pytorch-grad-cam, torch-cam) can be timed and compared on the same model.
TensorFlow "SAME" padding, ReLU6, BatchNorm eps 1e-3, no squeeze-excite.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = [(3, 1, 1, 16), (3, 2, 6, 24), (3, 1, 6, 24), (5, 2, 6, 40), (5, 1, 6, 40),
          (3, 2, 6, 80), (3, 1, 6, 80), (3, 1, 6, 80), (5, 1, 6, 112), (5, 1, 6, 112),
          (5, 1, 6, 112), (5, 2, 6, 192), (5, 1, 6, 192), (5, 1, 6, 192), (5, 1, 6, 192),
          (3, 1, 6, 320)]


class SameConv(nn.Conv2d):
    def forward(self, x):
        ih, iw = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
        pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class Block(nn.Module):
    def __init__(self, c_in, k, s, e, c_out):
        super().__init__()
        mid = c_in * e
        if e != 1:
            self._expand_conv = SameConv(c_in, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self.e = e
        self._depthwise_conv = SameConv(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv = SameConv(mid, c_out, 1, bias=False)
        self._bn2 = bn(c_out)
        self.skip = s == 1 and c_in == c_out

    def forward(self, x):
        y = x
        if self.e != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class Lite0(nn.Module):
    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = bn(32)
        blocks, c = [], 32
        for k, s, e, c_out in BLOCKS:
            blocks.append(Block(c, k, s, e, c_out))
            c = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self.head_act = nn.ReLU6()  # the CAM target: the head conv's activated output
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        x = self.head_act(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))


def load(path):
    m = Lite0()
    m.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))
    return m.eval()
