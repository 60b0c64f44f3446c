"""``keras-vae components``: every registered component, its options and defaults."""
from __future__ import annotations

import argparse
import json

from keras_vae.cli.output import say
from keras_vae.cli.settings import COMPONENT_KINDS


def run(args: argparse.Namespace) -> int:
    from keras_vae.cli.components import _registry, describe

    registry = _registry()
    kinds = [args.kind] if getattr(args, "kind", None) else list(COMPONENT_KINDS)
    listing = {kind: [describe(kind, name) for name in registry.list_components(kind)] for kind in kinds}
    if args.json:
        say(json.dumps(listing, indent=2))
        return 0
    for kind, entries in listing.items():
        say(f"{kind}:  (--{kind} NAME --{kind}-options JSON)")
        width = max((len(e["name"]) for e in entries), default=0)
        for entry in entries:
            options = ", ".join(f"{k}={v}" for k, v in entry["options"].items()) or "(no options)"
            source = "" if entry["source"] == "built-in" else f"  [{entry['source']}]"
            say(f"  {entry['name'].ljust(width)}  {options}{source}")
    return 0
