"""``python -m cofirec.retrieval MODEL_DIR [--kind auto|hnsw|ivf] ...``: build the ANN index of a saved model and
add it to the folder (``ann.faiss``); ``cofirec.load`` / ``cofirec serve`` then attach it."""

from __future__ import annotations

import argparse
import sys

from cofirec.errors import CofirecError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cofirec.retrieval", description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("--kind", default="auto", help="auto (by catalogue size) | hnsw | ivf")
    ap.add_argument("--m", type=int, default=16, help="HNSW links per node")
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--ef-search", type=int, default=128)
    ap.add_argument("--nlist", type=int, default=None, help="IVF cells (default about 4 sqrt(items))")
    ap.add_argument("--nprobe", type=int, default=None, help="IVF cells searched (default nlist/8)")
    ap.add_argument("--candidates", type=int, default=10, help="candidates retrieved per requested item")
    ap.add_argument("--min-items", type=int, default=100_000, help="smaller catalogues keep the exact search")
    args = ap.parse_args(argv)
    try:
        from cofirec.models.artifact import load_model
        from cofirec.retrieval import build_index, save_index

        model = load_model(args.model_dir)
        index = build_index(
            model,
            kind=args.kind,
            m=args.m,
            ef_construction=args.ef_construction,
            ef_search=args.ef_search,
            nlist=args.nlist,
            nprobe=args.nprobe,
            candidates=args.candidates,
            min_items=args.min_items,
        )
        save_index(index, args.model_dir)
    except CofirecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.model_dir}: {index.params} over {index.n_items} items, built in {index.build_seconds:.1f} s "
        f"({index.memory_bytes() / 2**20:.1f} MB); used for catalogues of >= {index.min_items} items"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
