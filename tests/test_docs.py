"""The documentation site builds with `mkdocs build --strict` (mkdocs, Material and
mkdocstrings come with the dev extra), the README stays a front door, and the
docstring examples of the modules this site documents for new users run."""
import os
import re
import subprocess
import sys


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mkdocs_build_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=REPO)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "preprocessing" / "index.html").read_text(encoding="utf-8")
    assert "Standardization" in api and "adapt" in api  # generated from the docstrings


def test_readme_is_a_front_door():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert len(text.splitlines()) < 200
    assert "keras_vae.datasets.Standardizer" in text and "standardize=True" in text
    assert not re.search(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b", text), "commit hash in README"
    section = text.split("\n## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert [b.strip() for b in blocks[:2]] == [
        "pip install -e . && keras-vae train --output runs/demo",
        'pip install -e ".[dev]" && python3 -m pytest -q',
    ]
    # Every local link of the README points at a file that exists.
    for target in re.findall(r"\]\(((?:docs|examples)/[^)#]+)", text):
        assert os.path.exists(os.path.join(REPO, target)), target
