"""Score one model under several decoding settings, running the encoder once.

    python scripts/decode_sweep.py MODEL DATA SPLIT SETTING [SETTING ...]

DATA and SPLIT as for ``claimcls evaluate`` (``bundled dev``, ``../shared/data/polnear dev``).
Each SETTING is a comma-separated list of ``DecodeConfig`` fields, e.g.
``tag_decoder=argmax`` or ``cue_bias=-1.0,content_threshold=0.6``; an empty string ("")
scores the folder's own settings. Prints exact F1 per setting. Tune on a dev split, never
on the split you report.
"""

from __future__ import annotations

import argparse
import dataclasses

import claimcls
from claimcls.config import DecodeConfig
from claimcls.errors import ConfigError
from claimcls.evaluation import score


def parse_setting(spec: str, base: DecodeConfig) -> DecodeConfig:
    """``"cue_bias=-1,repair=0"`` applied to ``base`` (validated by DecodeConfig)."""
    types = {f.name: type(getattr(base, f.name)) for f in dataclasses.fields(base)}
    changes = {}
    for item in filter(None, spec.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in types:
            raise ConfigError(f"setting {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(types)}")
        kind = types[key]
        changes[key] = value in ("1", "true", "True") if kind is bool else tuple(value.split("+")) if kind is tuple else kind(value)
    return dataclasses.replace(base, **changes)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("split")
    ap.add_argument("settings", nargs="+")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args(argv)
    model = claimcls.load(args.model, precision=args.precision)
    docs = claimcls.read_corpus(args.data, split=args.split, **({} if args.data == "bundled" else {"on_invalid": "skip"}))
    base = model.decode
    print(f"{'setting':44s} {'whole (P / R)':>22s} {'cue':>6s} {'source':>6s} {'content':>7s} {'overlap':>7s}")
    with model.encoder_cache():  # the encoder runs once; each setting only decodes
        for spec in args.settings:
            model.decode = parse_setting(spec, base)
            s = score(docs, model.predict([d.text for d in docs]))
            a = s["attribution"]
            print(f"{spec or '(folder)':44s} {a['f1']:6.2f} ({a['precision']:.2f} / {a['recall']:.2f}) "
                  f"{s['cue']['exact']['f1']:6.2f} {s['source']['exact']['f1']:6.2f} "
                  f"{s['content']['exact']['f1']:7.2f} {s['content']['overlap']['f1']:7.2f}", flush=True)


if __name__ == "__main__":
    main()
