//! The architectures written by hand: EfficientNet-Lite0 (built in), and the torchvision
//! ResNets, VGGs and ViT-B/16 whose weight files users already have. `cnn` and `block` hold
//! what the convolutional ones share.

pub mod block;
pub mod cnn;
pub mod lite0;
pub mod resnet;
pub mod vgg;
pub mod vit;
