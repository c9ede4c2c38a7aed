"""``certify.certify_all``: every applicable bound on one model, each on the sample of its data role, ranked within
each claim, as a pandas DataFrame (the Python face of ``certify run --theorem all``)."""

from __future__ import annotations

from typing import Any, Sequence

import theorems
from certify.data.load import load_data
from certify.jobs.run import RunResult, certify_each, data_by_role, ranking
from certify.models import LoadedModel, load_model

__all__ = ["certify_all"]


def _resolve(spec: Any) -> Any:
    from certify.pipeline import _resolve_data

    return load_data(spec) if isinstance(spec, str) else _resolve_data(spec)


def certify_all(model: Any, data: Any = None, *, train_data: Any = None, test_data: Any = None,
                delta: str = "0.05", theorem_ids: Sequence[str] | None = None, arch: str | None = None,
                margin: str | None = None, eps: str | None = None) -> Any:
    """Certify ``model`` with every applicable bound (or ``theorem_ids``) and rank them within each claim.

    Returns a ``pandas.DataFrame``, one row per certificate: ``theorem``, ``bounded`` (the claim), ``relation``,
    ``bound`` (the certified end as an outward-rounded decimal string), ``bound_float`` (that decimal as a float, for
    sorting and plotting only), ``rank`` (within the claim), ``delta``, ``certificate`` (the
    :class:`~certify.certificate.Certificate`). ``df.attrs["skipped"]`` maps each theorem that did not apply to the
    reason. Data as for :func:`certify.certify` (arrays, a Dataset, a torch Dataset/DataLoader, a file or a built-in
    name); a theorem reads ``test_data`` or ``train_data`` by its role, else ``data``.
    """
    import pandas as pd

    loaded = model if isinstance(model, LoadedModel) else load_model(model, arch)
    ids = list(theorem_ids) if theorem_ids is not None else [t.id for t in theorems.all() if t.kind == "bound"]
    certs, skipped, _ = certify_each(loaded, data_by_role(data, train_data, test_data), ids, resolve=_resolve,
                                     strict=False, delta=str(delta), arch=arch, margin=margin, eps=eps)
    rows = ranking(RunResult(certs, skipped))
    df = pd.DataFrame({
        "theorem": pd.Series([r["theorem"] for r in rows], dtype="string"),
        "bounded": pd.Series([r["bounded"] for r in rows], dtype="string"),
        "relation": pd.Series([r["relation"] for r in rows], dtype="string"),
        "bound": pd.Series([r["bound"] for r in rows], dtype="string"),
        "bound_float": pd.Series([float(r["bound"]) for r in rows], dtype="float64"),
        "rank": pd.Series([int(r["rank"]) for r in rows], dtype="int64"),
        "delta": pd.Series([str(certs[r["theorem"]].delta["total"]) for r in rows], dtype="string"),
        "certificate": pd.Series([certs[r["theorem"]] for r in rows], dtype="object"),
    })
    df.attrs["skipped"] = dict(skipped)
    return df
