"""Packaging for keras_vae."""
import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "keras_vae" / "version.py").read_text()
).group(1)

setup(
    name="keras-vae",
    version=VERSION,
    description="Variational autoencoders for Keras 3: model.fit training, swappable "
    "TFP components, exact .keras round trips and TF Serving export.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["keras_vae", "keras_vae.*"]),
    package_data={"keras_vae": ["data/*.npz"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "tensorflow-probability>=0.24",
        "tf-keras>=2.16",
        "keras>=3.0",
        "numpy",
        # `keras-vae train` draws pictures (matplotlib, pillow) and
        # `--tensorboard` uses keras.callbacks.TensorBoard, which needs tensorboard
        # (TensorFlow >= 2.20 no longer installs it).
        "matplotlib",
        "pillow",
        "tensorboard",
    ],
    extras_require={
        "serving": ["tensorflow-serving-api"],
        "plots": ["matplotlib", "pillow"],
        "yaml": ["pyyaml"],
        # keras_vae.evaluation.disentanglement (the metrics) only
        "disentanglement": ["scikit-learn"],
        "dev": [
            "pytest",
            "pytest-xdist",  # pytest.ini runs the suite on two processes
            "tensorflow-serving-api",
            "matplotlib",
            "pillow",
            "pyyaml",
            "ai-edge-litert",
            "onnxruntime",
            "onnx",
            "tf2onnx",
            "scipy",  # tests/test_score.py compares with scipy.special.logsumexp
            "scikit-learn",  # the disentanglement metrics; examples/anomaly_detection (load_breast_cancer)
            "mkdocs",  # tests/test_docs.py builds the documentation site with --strict
            "mkdocs-material",
            "mkdocstrings[python]",
        ],
        "docs": ["mkdocs", "mkdocs-material", "mkdocstrings[python]"],
        "examples": ["scikit-learn"],
    },
    entry_points={"console_scripts": ["keras-vae=keras_vae.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
