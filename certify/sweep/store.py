"""The result table of a sweep: one row per job, as Parquet (and CSV on request), never half-written.

Layout under the sweep's ``--out`` directory::

    rows/<key>.parquet     one row, written atomically by the worker that ran the job, after its files
    jobs/<key>/            the job's certificate.json, reproduce.sh, report.* (theorem) or analyze.json / gap.json
    results.parquet        every row, consolidated at the end of a run (atomically); results.csv with --csv

A row file exists only once the job's other files are complete (each is written by a temp file and a rename, the
row last), so a ``kill -9`` of the client or of a worker at any point loses no finished job: the next run reads
``results.parquet`` and ``rows/``, keeps every row whose key is finished, and runs the rest. Rows are keyed by the
resume key, so a job run twice (a killed client's task finishing after the rerun started it again) is one row.

Certified numbers are the certificate's decimal strings (``result_lo``, ``result_hi``) and floats rounded outward
(``result_lo_float <= lo``, ``result_hi_float >= hi``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable, Mapping

from boundcert.errors import InvalidInput

__all__ = ["COLUMNS", "FINISHED", "ResultStore"]

#: The columns of a row, with their Arrow types ("string", "double", "int64").
COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "string"), ("kind", "string"), ("name", "string"), ("status", "string"), ("error", "string"),
    ("model", "string"), ("arch", "string"), ("model_file_sha256", "string"), ("model_sha256", "string"),
    ("data", "string"), ("data_sha256", "string"), ("train_data", "string"), ("train_data_sha256", "string"),
    ("theorem", "string"), ("theorem_version", "int64"), ("options", "string"), ("hparams", "string"),
    ("result_lo", "string"), ("result_hi", "string"), ("result_lo_float", "double"), ("result_hi_float", "double"),
    ("measures", "string"), ("certificate", "string"), ("boundcert", "string"), ("worker", "string"),
    ("started", "string"), ("seconds", "double"),
)
#: Statuses of a finished job: ``ok``, or ``error`` (a refusal of the job's inputs, one line, deterministic).
#: ``internal_error`` (a crash or a worker lost too often) is recorded but run again next time.
FINISHED = ("ok", "error")


def _schema():  # -> pyarrow.Schema
    import pyarrow as pa

    types = {"string": pa.string(), "double": pa.float64(), "int64": pa.int64()}
    return pa.schema([(n, types[t]) for n, t in COLUMNS])


class ResultStore:
    """The rows of one sweep directory."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.rows_dir = self.out / "rows"
        self.jobs_dir = self.out / "jobs"
        self.table = self.out / "results.parquet"

    def prepare(self) -> None:
        """Create the directory layout; an unwritable ``--out`` is refused before any job runs."""
        try:
            self.rows_dir.mkdir(parents=True, exist_ok=True)
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            probe = self.out / ".sweep-write-probe"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise InvalidInput(f"--out={str(self.out)!r} is not writable ({exc.strerror}): choose a writable "
                               "directory") from None

    def job_dir(self, key: str) -> Path:
        return self.jobs_dir / key

    @staticmethod
    def to_parquet(rows: Iterable[dict[str, Any]]) -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = list(rows)
        names = [n for n, _ in COLUMNS]
        table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=_schema())
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()

    def write_row(self, row: dict[str, Any]) -> Path:
        """Write one row atomically as ``rows/<key>.parquet`` (the last file a job writes)."""
        from certify.certificate import atomic_write_bytes

        path = self.rows_dir / f"{row['key']}.parquet"
        atomic_write_bytes(path, self.to_parquet([row]))
        return path

    def rows(self, known: Mapping[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        """Every recorded row by key: the consolidated table, then the row files (a row file wins). ``known``: rows
        the caller already holds, each exactly as its row file records it (the rows this run's jobs returned):
        their files are not read again."""
        import pyarrow.parquet as pq

        known = known or {}
        out: dict[str, dict[str, Any]] = {}
        parts = sorted(self.rows_dir.glob("*.parquet")) if self.rows_dir.is_dir() else []
        files = ([self.table] if self.table.is_file() else []) + [f for f in parts if f.stem not in known]
        for f in files:
            for r in pq.read_table(f).to_pylist():
                out[r["key"]] = r
        out.update(known)
        return out

    def finished(self, retry_errors: bool = False) -> set[str]:
        """Keys of the jobs not to run again: status ``ok`` (and ``error`` unless ``retry_errors``)."""
        ok = ("ok",) if retry_errors else FINISHED
        return {k for k, r in self.rows().items() if r["status"] in ok}

    def consolidate(self, *, csv: bool = False, keep: Iterable[str] = (),
                    known: Mapping[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Write ``results.parquet`` (and ``results.csv``) from every row, atomically, then drop the row files it
        holds; returns the table as written (read back: the rows' types are the Parquet schema's). ``keep``: these
        keys first (the jobs of the current spec, in spec order), then every other row. ``known``: as for
        :meth:`rows` (the engine passes the rows its jobs returned, so that a sweep does not re-read its own row
        files)."""
        import pyarrow.parquet as pq

        from certify.certificate import atomic_write_bytes

        files = sorted(self.rows_dir.glob("*.parquet")) if self.rows_dir.is_dir() else []
        rows = self.rows(known)
        first = [k for k in (keep or ()) if k in rows]
        table = [rows[k] for k in first + sorted(set(rows) - set(first))]
        atomic_write_bytes(self.table, self.to_parquet(table))
        table = pq.read_table(self.table).to_pylist()
        if csv:
            atomic_write_bytes(self.out / "results.csv", self.to_csv(table).encode("utf-8"))
        held = {r["key"] for r in table}
        for f in files:
            if f.stem in held:
                f.unlink(missing_ok=True)
        return table

    @staticmethod
    def to_csv(rows: list[dict[str, Any]]) -> str:
        import pandas as pd

        return pd.DataFrame(rows, columns=[n for n, _ in COLUMNS]).to_csv(index=False)
