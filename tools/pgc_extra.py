"""pytorch-grad-cam 1.5.7's FinerCAM and ShapleyCAM maps before ReLU, for the fixture scripts.

Both classes only return finished (ReLU'd, resized, normalised) maps; these run the same code
paths step by step (FinerCAM.forward's target and backward, ShapleyCAM's detach=False
backward and get_cam_weights) and stop before the ReLU, as the other fixtures do.
"""
import numpy as np
import torch
import torch.nn.attention
from pytorch_grad_cam import FinerCAM, ShapleyCAM
from pytorch_grad_cam.utils.model_targets import FinerWeightedTarget


def finercam_raw(model, layer, x, reshape=None, alpha=1.0, comparisons=(1, 2, 3)):
    cam = FinerCAM(model, [layer], reshape_transform=reshape)
    base = cam.base_cam
    outputs = base.activations_and_grads(x)
    out = outputs.detach().cpu().numpy()
    target_logits = np.max(out, axis=-1)
    order = np.argsort(np.abs(out - target_logits[:, None]), axis=-1)
    target = FinerWeightedTarget(int(order[0, 0]), [int(order[0, i]) for i in comparisons], alpha)
    model.zero_grad()
    target(outputs[0]).backward(retain_graph=True)
    acts = base.activations_and_grads.activations[0].cpu().numpy()
    grads = base.activations_and_grads.gradients[0].cpu().numpy()
    raw = base.get_cam_image(x, layer, [target], acts, grads, False)[0]
    base.activations_and_grads.release()
    return np.asarray(raw, dtype=np.float32), int(order[0, 0])


def shapleycam_raw(model, layer, x, cls, reshape=None):
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    cam = ShapleyCAM(model, [layer], reshape_transform=reshape)
    x = x.clone().requires_grad_(True)
    # PyTorch's fused attention kernels have no second derivative: the plain one has.
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        outputs = cam.activations_and_grads(x)
        target = ClassifierOutputTarget(cls)
        model.zero_grad()
        torch.autograd.grad(target(outputs[0]), x, retain_graph=True, create_graph=True)
        acts = cam.activations_and_grads.activations[0]
        grads = cam.activations_and_grads.gradients[0]
        weights = cam.get_cam_weights(x, layer, [target], acts, grads)
    if reshape is not None:
        acts = reshape(acts)
    a = acts.detach().cpu().numpy()
    raw = (weights[:, :, None, None] * a).sum(axis=1)[0]
    # Its clear() detaches in place, which a reshaped (ViT) gradient refuses: drop the hooks
    # and the references instead.
    ag = cam.activations_and_grads
    for handle in ag.handles:
        handle.remove()
    ag.handles.clear()
    ag.activations, ag.gradients = [], []
    return np.asarray(raw, dtype=np.float32)
