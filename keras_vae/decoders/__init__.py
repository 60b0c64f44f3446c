"""Decoder bodies: z -> feature tensor. Any keras layer or model also works."""
from keras_vae.decoders.conv_decoder import ConvDecoder
from keras_vae.decoders.conv_grid_decoder import ConvGridDecoder
from keras_vae.decoders.mlp_decoder import MLPDecoder

__all__ = ["ConvGridDecoder", "ConvDecoder", "MLPDecoder"]
