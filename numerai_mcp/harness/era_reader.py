"""Read a parquet file one era at a time, parsing its footer once.

Loaded by path (never imported as numerai_mcp) by era_runner.py inside the sandbox and by
scoring_script.py outside it, so both read an era the same way. `pd.read_parquet(filters=...)`
re-reads and re-parses the footer on every call, which at Numerai's width (2,748 columns x 100+
row groups of metadata) costs more than reading the era itself. Here the footer is parsed once;
the era column's row-group statistics say which row groups hold an era; only those are decoded,
and rows of other eras are filtered out when a row group holds several. Without usable
statistics (no min/max, a non-text era column) it falls back to pandas' filters.

Python 3.10 compatible; standard library plus pandas/pyarrow.
"""


class EraReader:
    """`read(era)` -> that era's rows as a DataFrame (pandas index restored), `columns` only."""

    def __init__(self, path, columns=None, era_column="era"):
        import pyarrow.parquet as pq

        self.path, self.columns, self.era_column = path, columns, era_column
        self._file = pq.ParquetFile(path)
        self._ranges = self._era_ranges()

    def _era_ranges(self):
        """[(row group, min era, max era)] from the statistics, or None when they cannot be trusted to decide."""
        import pyarrow as pa

        field = self._file.schema_arrow.field(self.era_column) if self.era_column in self._file.schema_arrow.names \
            else None
        if field is None or not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            return None
        metadata = self._file.metadata
        position = next((k for k in range(metadata.num_columns)
                         if metadata.schema.column(k).path == self.era_column), None)
        if position is None:
            return None
        ranges = []
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(position).statistics
            if stats is None or not stats.has_min_max or not isinstance(stats.min, str):
                return None
            ranges.append((group, stats.min, stats.max))
        return ranges

    def read(self, era):
        import pandas as pd

        era = str(era)
        groups = [group for group, low, high in self._ranges or () if low <= era <= high]
        if not groups:  # no statistics to go by, or an era the file does not have (an empty frame)
            return pd.read_parquet(self.path, columns=self.columns, filters=[(self.era_column, "==", era)])
        columns = None if self.columns is None else list(self.columns)
        if columns is not None and self.era_column not in columns:
            columns.append(self.era_column)  # to filter by; dropped below
        table = self._file.read_row_groups(groups, columns=columns, use_pandas_metadata=True)
        if not all(low == high == era for group, low, high in self._ranges if group in groups):
            import pyarrow.compute as pc

            table = table.filter(pc.equal(table[self.era_column], era))
        frame = table.to_pandas()
        if self.columns is not None and self.era_column not in self.columns:
            frame = frame.drop(columns=[self.era_column])
        return frame
