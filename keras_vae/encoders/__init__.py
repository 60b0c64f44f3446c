"""Encoder bodies: data -> feature tensor. Any keras layer or model also works."""
from keras_vae.encoders.conv_encoder import ConvEncoder
from keras_vae.encoders.conv_grid_encoder import ConvGridEncoder
from keras_vae.encoders.mlp_encoder import MLPEncoder

__all__ = ["ConvGridEncoder", "ConvEncoder", "MLPEncoder"]
