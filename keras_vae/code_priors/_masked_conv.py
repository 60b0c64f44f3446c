"""A 2-D convolution whose kernel is multiplied by a fixed causal mask (PixelCNN)."""
from __future__ import annotations

import keras
import numpy as np


class MaskedConv2D(keras.layers.Conv2D):
    """``Conv2D`` (``padding="same"``) with the kernel masked to a causal pattern.

    ``mask`` is one of:

    * ``"vertical"``: kernel rows at and above the centre row (the output at row i
      sees input rows <= i; the gated PixelCNN shifts it down before use);
    * ``"horizontal_a"``: a 1 x k kernel, columns strictly left of the centre;
    * ``"horizontal_b"``: a 1 x k kernel, columns up to and including the centre.
    """

    MASKS = ("vertical", "horizontal_a", "horizontal_b")

    def __init__(self, filters: int, kernel_size, mask: str, **kwargs):
        if mask not in self.MASKS:
            raise ValueError(f"mask must be one of {self.MASKS}, got {mask!r}.")
        kwargs.pop("padding", None)
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        self.mask = mask

    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        mask = np.zeros((kh, kw, 1, 1), "float32")
        if self.mask == "vertical":
            mask[: kh // 2 + 1, :] = 1.0
        else:
            mask[kh // 2, : kw // 2 + (self.mask == "horizontal_b")] = 1.0
        self._kernel_mask = mask

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * keras.ops.convert_to_tensor(self._kernel_mask, kernel.dtype))

    def get_config(self):
        config = super().get_config()
        config.pop("padding", None)
        config["mask"] = self.mask
        return config
