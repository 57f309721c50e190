"""``DynamicFrame`` and ``DynamicFrameCollection`` on a Spark DataFrame.

Semantics follow the Glue PySpark reference
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-dynamic-frame.html);
where the page leaves a point open, the local choice is said beside the code. The local model:

- a frame is a Spark DataFrame plus its *choice* columns (see ``awsglue._types``) and its
  *error records*;
- ``map`` and ``filter`` run the script's Python function per record, and a record whose
  function raises becomes an error record (with the exception text), as on Glue, instead of
  failing the job; ``errorsCount``, ``stageErrorsCount``, ``errorsAsDynamicFrame`` and
  ``assertErrorThreshold`` read them;
- ``stageThreshold``/``totalThreshold`` of a transform: when nonzero and exceeded, the transform
  raises at once. ``assertErrorThreshold()`` raises when a frame has more error records than the
  thresholds it was made with allow, zero allowing none (the Scala reference's "maximum number
  of error records allowed": https://docs.aws.amazon.com/glue/latest/dg/glue-etl-scala-apis-glue-dynamicframe-class.html).

Any method Glue has and this stand-in lacks raises ``NotImplementedError`` naming it.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pyspark import cloudpickle
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql import types as T  # noqa: N812

from awsglue import _types
from awsglue._types import col

ERROR_SCHEMA = "error string, record string"

# Spark's Python workers do not have the stand-in on their path: ship this module's functions
# (the record wrappers of map and filter) by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call]


class GlueErrorThresholdError(Exception):
    """More error records than a transform's thresholds allow."""


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _to_json(record: Any) -> str:
    return json.dumps(record, default=_json_default, sort_keys=False)


# Types JSON cannot carry: after a map, a column of this type that came back as the JSON type
# below gets its type back (Decimal travels as text, timestamps as ISO text, ...).
def _restorable(original: T.DataType, got: T.DataType) -> bool:
    if isinstance(got, T.StringType):
        return isinstance(original, T.DateType | T.TimestampType | T.DecimalType | T.BinaryType)
    if isinstance(got, T.LongType):
        return isinstance(original, T.IntegerType | T.ShortType | T.ByteType | T.DecimalType)
    if isinstance(got, T.DoubleType):
        return isinstance(original, T.FloatType | T.DecimalType)
    return False


class DynamicFrame:
    """A distributed collection of records with a schema computed on demand."""

    def __init__(
        self,
        df: DataFrame,
        glue_ctx: Any,
        name: str = "",
        *,
        choices: dict[str, list[str]] | None = None,
        errors: DataFrame | None = None,
        stage_errors: DataFrame | None = None,
        thresholds: tuple[int, int] = (0, 0),
    ) -> None:
        self._df = df
        self.glue_ctx = glue_ctx
        self.name = name
        self._choices = {k: list(v) for k, v in (choices or {}).items() if k in df.columns}
        self._errors = errors
        self._stage_errors = stage_errors
        self._thresholds = thresholds

    # --- the unimplemented rest of the API ----------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotImplementedError(
            f"DynamicFrame.{name} is not supported locally by the lakehouse Glue stand-in "
            "(see glue-scripts/README.md for the supported surface)"
        )

    # --- construction helpers ----------------------------------------------------------------

    @property
    def _spark(self) -> SparkSession:
        return self._df.sparkSession

    def _derive(
        self,
        df: DataFrame,
        name: str = "",
        *,
        choices: dict[str, list[str]] | None = None,
        stage_errors: DataFrame | None = None,
        thresholds: tuple[int, int] = (0, 0),
        info: str = "",
    ) -> DynamicFrame:
        errors = self._errors
        if stage_errors is not None:
            errors = stage_errors if errors is None else errors.unionByName(stage_errors)
        out = DynamicFrame(
            df,
            self.glue_ctx,
            name or self.name,
            choices=self._choices if choices is None else choices,
            errors=errors,
            stage_errors=stage_errors,
            thresholds=thresholds,
        )
        out._check_thresholds(info, raise_on_zero=False)
        return out

    @classmethod
    def fromDF(cls, dataframe: DataFrame, glue_ctx: Any, name: str) -> DynamicFrame:  # noqa: N802
        """A frame of the DataFrame's rows (no choices, no errors)."""
        return cls(dataframe, glue_ctx, name)

    # --- conversion and inspection -------------------------------------------------------------

    def toDF(self, options: Any = None) -> DataFrame:  # noqa: N802
        """The records as a DataFrame.

        Local choice: a column still holding a choice becomes a struct with one field per
        type (what ``resolveChoice(choice="make_struct")`` gives); resolve choices first for
        flat columns.
        """
        if not self._choices:
            return self._df
        return self._df.select(
            *[
                _types.make_struct(col(c), self._choices[c]).alias(c)
                if c in self._choices
                else col(c)
                for c in self._df.columns
            ]
        )

    def count(self) -> int:
        """The number of records."""
        return self._df.count()

    def schema(self) -> T.StructType:
        """The schema; a choice column's field is a string with ``glue_choice`` metadata."""
        fields = []
        for f in self._df.schema.fields:
            if f.name in self._choices:
                fields.append(
                    T.StructField(
                        f.name, T.StringType(), True, {"glue_choice": self._choices[f.name]}
                    )
                )
            else:
                fields.append(f)
        return T.StructType(fields)

    def printSchema(self) -> None:  # noqa: N802
        """Print the schema as Glue does: ``root``, then one ``|--`` line per field."""
        print(self._schema_text())

    def _schema_text(self) -> str:
        lines = ["root"]

        def walk(dtype: T.DataType, depth: int) -> None:
            if isinstance(dtype, T.StructType):
                for f in dtype.fields:
                    emit(f.name, f.dataType, depth)
            elif isinstance(dtype, T.ArrayType):
                emit("element", dtype.elementType, depth)
            elif isinstance(dtype, T.MapType):
                emit("keyType", dtype.keyType, depth)
                emit("valueType", dtype.valueType, depth)

        def emit(name: str, dtype: T.DataType, depth: int) -> None:
            lines.append(f"{'|    ' * depth}|-- {name}: {_types.glue_type_name(dtype)}")
            walk(dtype, depth + 1)

        for f in self._df.schema.fields:
            if f.name in self._choices:
                lines.append(f"|-- {f.name}: choice")
                lines.extend(f"|    |-- {t}" for t in self._choices[f.name])
            else:
                emit(f.name, f.dataType, 0)
        return "\n".join(lines)

    def show(self, num_rows: int = 20) -> None:
        """Print up to ``num_rows`` records, one JSON object per line (as Glue prints them)."""
        for row in self.toDF().limit(num_rows).collect():
            print(_to_json(row.asDict(recursive=True)))

    def getNumPartitions(self) -> int:  # noqa: N802
        return self._df.rdd.getNumPartitions()

    def repartition(
        self, num_partitions: int, transformation_ctx: str = "", **_: Any
    ) -> DynamicFrame:
        return self._derive(self._df.repartition(num_partitions))

    def coalesce(
        self, num_partitions: int, shuffle: bool = False, transformation_ctx: str = "", **_: Any
    ) -> DynamicFrame:
        df = self._df.repartition(num_partitions) if shuffle else self._df.coalesce(num_partitions)
        return self._derive(df)

    # --- field transforms ---------------------------------------------------------------------

    def apply_mapping(
        self,
        mappings: Sequence[Sequence[str]],
        case_sensitive: bool = False,
        transformation_ctx: str = "",
        info: str = "",
        stageThreshold: int = 0,  # noqa: N803 - the Glue parameter name
        totalThreshold: int = 0,  # noqa: N803
    ) -> DynamicFrame:
        """Select, rename and cast fields; every field not named in a mapping is dropped.

        A mapping is ``(source path, source type, target path, target type)``
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-ApplyMapping.html).
        A dotted target path builds a struct. Values that do not cast become null. Local
        choices: a source path no record has yields a null column of the target type (Glue
        leaves the field out of every record); the source type is not checked against the
        data, the value is cast from whatever it is.
        """
        tree: dict[str, Any] = {}
        for mapping in mappings:
            if len(mapping) != 4:
                raise ValueError(
                    f"ApplyMapping mapping {tuple(mapping)!r} must be (source path, source type, "
                    "target path, target type)"
                )
            source, _source_type, target, target_type = (str(x) for x in mapping)
            target_dtype = _types.spark_type(target_type)
            parts = _types.top_level(self._df, source, case_sensitive)
            expr: Column
            if parts is None:
                expr = F.lit(None).cast(target_dtype or T.StringType())
            else:
                expr = col(*parts)
                if target_dtype is not None:
                    expr = expr.cast(target_dtype)
            _tree_put(tree, _types.split_path(target), expr)
        df = self._df.select(*_tree_columns(tree))
        return self._derive(df, choices={}, thresholds=(stageThreshold, totalThreshold), info=info)

    def select_fields(
        self, paths: Sequence[str], transformation_ctx: str = "", info: str = "", **_: Any
    ) -> DynamicFrame:
        """Keep only ``paths`` (a nested path keeps its struct with only that field).

        Paths no record has are ignored, as Glue records simply lack them.
        """
        tree: dict[str, Any] = {}
        for path in paths:
            parts = _types.top_level(self._df, path)
            if parts is not None:
                _tree_put(tree, parts, col(*parts))
        return self._derive(self._df.select(*_tree_columns(tree)))

    def drop_fields(
        self, paths: Sequence[str], transformation_ctx: str = "", info: str = "", **_: Any
    ) -> DynamicFrame:
        """Remove ``paths`` (nested paths remove the field from its struct)."""
        df = self._df
        for path in paths:
            parts = _types.top_level(df, path)
            if parts is None:
                continue
            if len(parts) == 1:
                df = df.drop(parts[0])
            else:
                df = df.withColumn(parts[0], col(parts[0]).dropFields(".".join(parts[1:])))
        return self._derive(df)

    def rename_field(
        self,
        oldName: str,  # noqa: N803
        newName: str,  # noqa: N803
        transformation_ctx: str = "",
        info: str = "",
        **_: Any,
    ) -> DynamicFrame:
        """Rename one field; a nested field is renamed within its struct."""
        parts = _types.top_level(self._df, oldName)
        if parts is None:
            raise ValueError(f"rename_field: no field {oldName!r} in {self._df.columns}")
        new_parts = [newName] if len(parts) == 1 else _types.split_path(newName)
        if len(parts) == 1:
            df = self._df.withColumnRenamed(parts[0], newName)
            choices = {(newName if k == parts[0] else k): v for k, v in self._choices.items()}
            return self._derive(df, choices=choices)
        if new_parts[:-1] != parts[:-1]:
            raise NotImplementedError(
                "DynamicFrame.rename_field moving a nested field to another struct is not "
                "supported locally; rename within the same struct"
            )
        renamed = col(parts[0])
        inner = ".".join(parts[1:-1])
        target = f"{inner}.{new_parts[-1]}" if inner else new_parts[-1]
        renamed = renamed.withField(target, col(*parts)).dropFields(".".join(parts[1:]))
        return self._derive(self._df.withColumn(parts[0], renamed))

    def unnest(self, transformation_ctx: str = "", info: str = "", **_: Any) -> DynamicFrame:
        """Flatten nested structs to top-level fields named ``parent.child`` (arrays stay)."""
        cols = [col(*p).alias(".".join(p)) for p in _leaf_paths(self._df.schema, [])]
        return self._derive(self._df.select(*cols))

    def resolveChoice(  # noqa: N802
        self,
        specs: Sequence[tuple[str, str]] | None = None,
        choice: str = "",
        database: str | None = None,
        table_name: str | None = None,
        transformation_ctx: str = "",
        info: str = "",
        stageThreshold: int = 0,  # noqa: N803
        totalThreshold: int = 0,  # noqa: N803
        catalog_id: str | None = None,
    ) -> DynamicFrame:
        """Resolve choice columns with ``cast:T``, ``project:T``, ``make_cols``, ``make_struct``
        or ``match_catalog``
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-ResolveChoice.html).

        ``specs`` and ``choice`` exclude each other, as on Glue. ``cast`` and ``project`` also
        apply to a column that is not a choice (a cast); ``make_cols``/``make_struct`` leave
        such a column as it is, since there is nothing to resolve.
        """
        if specs and choice:
            raise ValueError("resolveChoice takes either specs or choice, not both")
        if not specs and not choice:
            raise ValueError(
                "resolveChoice needs specs=[(path, action)] or choice=<action> (e.g. 'cast:int')"
            )
        actions = [(p, a) for p, a in specs] if specs else [(c, choice) for c in self._choices]
        df = self._df
        choices = dict(self._choices)
        for path, action in actions:
            df, choices = _resolve_one(df, choices, path, action, database, table_name)
        return self._derive(
            df, choices=choices, thresholds=(stageThreshold, totalThreshold), info=info
        )

    # --- record functions ---------------------------------------------------------------------

    def filter(
        self,
        f: Callable[[dict[str, Any]], bool],
        transformation_ctx: str = "",
        info: str = "",
        stageThreshold: int = 0,  # noqa: N803
        totalThreshold: int = 0,  # noqa: N803
    ) -> DynamicFrame:
        """Keep the records for which ``f(record)`` is true; a record where ``f`` raises is an
        error record
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-filter.html).
        """
        choices = self._choices

        def decide(row: Any) -> tuple[int, Any, str | None]:
            record = row.asDict(recursive=True)
            try:
                return (0 if f(record) else 1, row, None)
            except Exception as exc:  # a failing record is an error record, as on Glue
                return (2, _to_json(record), f"{type(exc).__name__}: {exc}")

        decided = self._df.rdd.map(decide)
        kept = decided.filter(lambda d: d[0] == 0).map(lambda d: d[1])
        df = self._spark.createDataFrame(kept, self._df.schema)
        errors = self._spark.createDataFrame(
            decided.filter(lambda d: d[0] == 2).map(lambda d: (d[2], d[1])), ERROR_SCHEMA
        )
        return self._derive(
            df,
            choices=choices,
            stage_errors=errors,
            thresholds=(stageThreshold, totalThreshold),
            info=info,
        )

    def map(
        self,
        f: Callable[[dict[str, Any]], dict[str, Any]],
        preservesPartitioning: bool = False,  # noqa: N803
        transformation_ctx: str = "",
        info: str = "",
        stageThreshold: int = 0,  # noqa: N803
        totalThreshold: int = 0,  # noqa: N803
    ) -> DynamicFrame:
        """Apply ``f`` to every record (a dict); a record where ``f`` raises is an error record
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-map.html).

        The result's schema is inferred from the records ``f`` returns (through JSON, so a
        field whose values have several types becomes a choice); a field that keeps its name
        gets back a type JSON cannot carry (timestamp, date, decimal, binary, int).
        """

        def apply(row: Any) -> tuple[bool, str, str | None]:
            record = row.asDict(recursive=True)
            try:
                out = f(record)
                if not isinstance(out, dict):
                    raise TypeError(f"the map function returned {type(out).__name__}, not a record")
                return (True, _to_json(out), None)
            except Exception as exc:  # a failing record is an error record, as on Glue
                return (False, _to_json(record), f"{type(exc).__name__}: {exc}")

        applied = self._df.rdd.map(apply)
        good = applied.filter(lambda a: a[0]).map(lambda a: a[1])
        df = (
            self._spark.read.json(good)
            if not good.isEmpty()
            else self._spark.createDataFrame([], T.StructType([]))
        )
        original = {f.name: f.dataType for f in self._df.schema.fields}
        df = df.select(
            *[
                col(c.name).cast(original[c.name]).alias(c.name)
                if c.name in original and _restorable(original[c.name], c.dataType)
                else col(c.name)
                for c in df.schema.fields
            ]
        )
        choices = _types.infer_choices(df)
        errors = self._spark.createDataFrame(
            applied.filter(lambda a: not a[0]).map(lambda a: (a[2], a[1])), ERROR_SCHEMA
        )
        return self._derive(
            df,
            choices=choices,
            stage_errors=errors,
            thresholds=(stageThreshold, totalThreshold),
            info=info,
        )

    # --- frames of frames ---------------------------------------------------------------------

    def join(
        self,
        paths1: Sequence[str],
        paths2: Sequence[str],
        frame2: DynamicFrame,
        transformation_ctx: str = "",
        info: str = "",
        **_: Any,
    ) -> DynamicFrame:
        """Equality join on ``paths1`` = ``paths2``; every field of both frames is kept
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-join.html).

        Local choices: a key with the same name on both sides appears once; any other field
        name present on both sides is an error (rename one first), where Glue would merge the
        records' fields.
        """
        if len(paths1) != len(paths2) or not paths1:
            raise ValueError("join needs as many keys on each side (paths1, paths2), at least one")
        left, right = self._df, frame2._df
        same = [a for a, b in zip(paths1, paths2, strict=True) if a == b]
        clash = sorted((set(left.columns) & set(right.columns)) - set(same))
        if clash:
            raise ValueError(
                f"join: fields {clash} are in both frames; rename_field or drop_fields one side"
            )
        cond = [left[_q(a)] == right[_q(b)] for a, b in zip(paths1, paths2, strict=True)]
        joined = left.join(right, cond, "inner")
        cols = [left[_q(c)] for c in left.columns] + [
            right[_q(c)] for c in right.columns if c not in same
        ]
        return self._derive(joined.select(*cols), choices={**self._choices, **frame2._choices})

    def union(
        self, other_frame: DynamicFrame, transformation_ctx: str = "", info: str = "", **_: Any
    ) -> DynamicFrame:
        """All records of both frames; a field typed differently on each side becomes a choice
        of both types (held as text)."""
        left, right = self._df, other_frame._df
        lt = {f.name: f.dataType for f in left.schema.fields}
        rt = {f.name: f.dataType for f in right.schema.fields}
        choices = {**other_frame._choices, **self._choices}
        for name in lt.keys() & rt.keys():
            if lt[name] != rt[name] and name not in choices:
                types = sorted({_types.glue_type_name(lt[name]), _types.glue_type_name(rt[name])})
                choices[name] = types
                left = left.withColumn(name, col(name).cast("string"))
                right = right.withColumn(name, col(name).cast("string"))
        df = left.unionByName(right, allowMissingColumns=True)
        return self._derive(df, choices=choices)

    def split_fields(
        self,
        paths: Sequence[str],
        name1: str,
        name2: str,
        transformation_ctx: str = "",
        info: str = "",
        **_: Any,
    ) -> DynamicFrameCollection:
        """Two frames: ``name1`` with ``paths``, ``name2`` with every other top-level field."""
        chosen = self.select_fields(paths)
        top = {(_types.top_level(self._df, p) or [p])[0] for p in paths}
        rest = self.drop_fields([c for c in self._df.columns if c in top])
        chosen.name, rest.name = name1, name2
        return DynamicFrameCollection({name1: chosen, name2: rest}, self.glue_ctx)

    def split_rows(
        self,
        comparison_dict: dict[str, dict[str, Any]],
        name1: str,
        name2: str,
        transformation_ctx: str = "",
        info: str = "",
        **_: Any,
    ) -> DynamicFrameCollection:
        """``name1``: records meeting every comparison (e.g. ``{"age": {">": 10, "<": 20}}``);
        ``name2``: the others, including records where the field is null
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-SplitRows.html).
        """
        ops: dict[str, Callable[[Column, Any], Column]] = {
            "<": lambda c, v: c < v,
            ">": lambda c, v: c > v,
            "<=": lambda c, v: c <= v,
            ">=": lambda c, v: c >= v,
            "=": lambda c, v: c == v,
            "==": lambda c, v: c == v,
            "!=": lambda c, v: c != v,
        }
        cond: Column = F.lit(True)
        for path, comparisons in comparison_dict.items():
            parts = _types.top_level(self._df, path)
            if parts is None:
                raise ValueError(f"split_rows: no field {path!r} in {self._df.columns}")
            for op, value in comparisons.items():
                if op not in ops:
                    raise ValueError(f"split_rows: unknown comparison {op!r}; use {sorted(ops)}")
                cond = cond & ops[op](col(*parts), F.lit(value))
        matched = F.coalesce(cond, F.lit(False))
        first = self._derive(self._df.where(matched), name1)
        second = self._derive(self._df.where(~matched), name2)
        return DynamicFrameCollection({name1: first, name2: second}, self.glue_ctx)

    def spigot(
        self,
        path: str,
        options: dict[str, Any] | None = None,
        transformation_ctx: str = "",
        **_: Any,
    ) -> DynamicFrame:
        """Write a sample of the records as JSON to ``path`` and return the frame unchanged.

        Options as on Glue: ``topk`` (first k records, default 100) and ``prob`` (each record
        kept with this probability, default 1)
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-spigot.html).
        """
        from awsglue import _local

        opts = dict(options or {})
        topk = int(opts.get("topk", 100))
        prob = float(opts.get("prob", 1.0))
        sample = self.toDF()
        if prob < 1.0:
            sample = sample.sample(withReplacement=False, fraction=prob)
        sample.limit(topk).coalesce(1).write.mode("overwrite").json(_local.resolve(path))
        return self

    def relationalize(
        self,
        root_table_name: str,
        staging_path: str | None = None,
        options: dict[str, Any] | None = None,
        transformation_ctx: str = "",
        info: str = "",
        **_: Any,
    ) -> DynamicFrameCollection:
        """Flatten structs and pivot arrays out into their own frames.

        As Glue does it
        (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-Relationalize.html):
        the root frame is named ``root_table_name``; nested fields become ``a.b``; each array
        field ``a.b`` becomes a frame ``<root>_a.b`` with columns ``id`` (the value now in the
        root's ``a.b`` column, to join on), ``index`` (the element's position) and
        ``a.b.val`` (a scalar element) or ``a.b.val.<field>`` (a struct element, flattened).
        Arrays inside array elements are pivoted again from the child frame. The frame is first
        written to ``staging_path`` (Parquet here, CSV on Glue) and read back, so that the
        generated ids are the same in every output frame; without one it is checkpointed.
        """
        from awsglue import _local

        base = self._df.withColumn("__rel_row", F.monotonically_increasing_id())
        if staging_path:
            where = f"{_local.resolve(staging_path).rstrip('/')}/{root_table_name}_input"
            base.write.mode("overwrite").parquet(where)
            base = self._spark.read.parquet(where)
        else:
            base = base.localCheckpoint(eager=True)
        frames: dict[str, DataFrame] = {}
        _relationalize(base, root_table_name, "", frames)
        out = {name: DynamicFrame(df, self.glue_ctx, name) for name, df in frames.items()}
        return DynamicFrameCollection(out, self.glue_ctx)

    # --- errors -------------------------------------------------------------------------------

    def errorsCount(self) -> int:  # noqa: N802
        """Error records of this frame and of the frames it was made from."""
        return 0 if self._errors is None else self._errors.count()

    def stageErrorsCount(self) -> int:  # noqa: N802
        """Error records of the transform that made this frame."""
        return 0 if self._stage_errors is None else self._stage_errors.count()

    def errorsAsDynamicFrame(self) -> DynamicFrame:  # noqa: N802
        """The error records: ``error`` (what the function raised) and ``record`` (as JSON)."""
        errors = self._errors
        if errors is None:
            errors = self._spark.createDataFrame([], ERROR_SCHEMA)
        return DynamicFrame(errors, self.glue_ctx, f"{self.name}_errors")

    def assertErrorThreshold(self) -> None:  # noqa: N802
        """Raise when there are more error records than this frame's thresholds allow."""
        self._check_thresholds("", raise_on_zero=True)

    def _check_thresholds(self, info: str, *, raise_on_zero: bool) -> None:
        stage_limit, total_limit = self._thresholds
        if not raise_on_zero and stage_limit <= 0 and total_limit <= 0:
            return  # Glue: zero thresholds never stop a transform
        stage, total = self.stageErrorsCount(), self.errorsCount()
        what = f" ({info})" if info else ""
        if stage > stage_limit and (raise_on_zero or stage_limit > 0):
            raise GlueErrorThresholdError(
                f"{stage} error record(s) in this stage{what}, more than stageThreshold="
                f"{stage_limit}; see errorsAsDynamicFrame()"
            )
        if total > total_limit and (raise_on_zero or total_limit > 0):
            raise GlueErrorThresholdError(
                f"{total} error record(s) in total{what}, more than totalThreshold="
                f"{total_limit}; see errorsAsDynamicFrame()"
            )


class DynamicFrameCollection:
    """Named frames, as ``relationalize``, ``split_fields`` and ``split_rows`` return them."""

    def __init__(self, dynamic_frames: dict[str, DynamicFrame], glue_ctx: Any) -> None:
        self._frames = dict(dynamic_frames)
        self.glue_ctx = glue_ctx

    def __getitem__(self, key: str) -> DynamicFrame:
        return self._frames[key]

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __contains__(self, key: object) -> bool:
        return key in self._frames

    def keys(self) -> list[str]:
        return list(self._frames)

    def values(self) -> list[DynamicFrame]:
        return list(self._frames.values())

    def select(self, key: str, transformation_ctx: str = "") -> DynamicFrame:
        """The frame named ``key``."""
        if key not in self._frames:
            raise KeyError(f"no frame {key!r} in this collection; it has {sorted(self._frames)}")
        return self._frames[key]

    def map(
        self, callable: Callable[[DynamicFrame, str], DynamicFrame], transformation_ctx: str = ""
    ) -> DynamicFrameCollection:
        """Apply ``callable(frame, transformation_ctx)`` to every frame."""
        return DynamicFrameCollection(
            {k: callable(v, transformation_ctx) for k, v in self._frames.items()}, self.glue_ctx
        )

    def flatmap(
        self, f: Callable[[DynamicFrame, str], Any], transformation_ctx: str = ""
    ) -> DynamicFrameCollection:
        """Like ``map``; a function returning a collection contributes all of its frames."""
        out: dict[str, DynamicFrame] = {}
        for key, frame in self._frames.items():
            result = f(frame, transformation_ctx)
            if isinstance(result, DynamicFrameCollection):
                out.update(result._frames)
            else:
                out[key] = result
        return DynamicFrameCollection(out, self.glue_ctx)


# --- helpers ---------------------------------------------------------------------------------


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _tree_put(tree: dict[str, Any], parts: list[str], expr: Column) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = expr


def _tree_columns(tree: dict[str, Any]) -> list[Column]:
    out: list[Column] = []
    for name, node in tree.items():
        if isinstance(node, dict):
            out.append(F.struct(*_tree_columns(node)).alias(name))
        else:
            out.append(node.alias(name))
    return out


def _leaf_paths(dtype: T.StructType, prefix: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    for f in dtype.fields:
        if isinstance(f.dataType, T.StructType) and f.dataType.fields:
            out += _leaf_paths(f.dataType, [*prefix, f.name])
        else:
            out.append([*prefix, f.name])
    return out


def _resolve_one(
    df: DataFrame,
    choices: dict[str, list[str]],
    path: str,
    action: str,
    database: str | None,
    table_name: str | None,
) -> tuple[DataFrame, dict[str, list[str]]]:
    kind, _, arg = action.partition(":")
    kind = kind.strip()
    parts = _types.top_level(df, path)
    if parts is None:
        raise ValueError(f"resolveChoice: no field {path!r} in {df.columns}")
    name = parts[0]
    is_choice = len(parts) == 1 and name in choices
    if kind == "match_catalog":
        if not database or not table_name:
            raise ValueError("resolveChoice match_catalog needs database= and table_name=")
        from awsglue import _catalog

        table = _catalog.get_table(database, table_name)
        catalog_types = {c.name: c.type for c in table.all_columns}
        if name not in catalog_types:
            raise ValueError(
                f"resolveChoice match_catalog: {database}.{table_name} has no column {name!r}"
            )
        kind, arg = "cast", catalog_types[name]
    if kind == "cast":
        target = _types.spark_type(arg) or T.StringType()
        if len(parts) == 1:
            df = df.withColumn(name, col(name).cast(target))
        else:
            df = df.withColumn(
                name, col(name).withField(".".join(parts[1:]), col(*parts).cast(target))
            )
        choices.pop(name, None)
        return df, choices
    if kind == "project":
        if is_choice:
            df = df.withColumn(name, _types.project(col(name), arg))
        else:
            df = df.withColumn(name, col(*parts).cast(_types.spark_type(arg) or T.StringType()))
        choices.pop(name, None)
        return df, choices
    if kind in ("make_cols", "make_struct"):
        if not is_choice:
            return df, choices
        types = choices.pop(name)
        if kind == "make_struct":
            return df.withColumn(name, _types.make_struct(col(name), types)), choices
        position = df.columns.index(name)
        cols = [col(c) for c in df.columns]
        made = [_types.project(col(name), t).alias(f"{name}_{t}") for t in types]
        return df.select(*cols[:position], *made, *cols[position + 1 :]), choices
    raise ValueError(
        f"resolveChoice action {action!r} is not one of cast:<type>, project:<type>, make_cols, "
        "make_struct, match_catalog"
    )


def _relationalize(df: DataFrame, table: str, prefix: str, frames: dict[str, DataFrame]) -> None:
    """Flatten ``df`` into ``frames[table]``; pivot each array into ``<table>_<path>``.

    ``df`` has a ``__rel_row`` column, unique per row, from which the join ids are made.
    """
    paths = _leaf_paths(df.schema, [])
    flat_cols: list[Column] = []
    arrays: list[tuple[str, list[str]]] = []
    for parts in paths:
        if parts == ["__rel_row"]:
            continue
        name = ".".join(parts)
        field_type = _field_type(df.schema, parts)
        if isinstance(field_type, T.ArrayType):
            arrays.append((name, parts))
            # The id of this row's array: the same in the root column and in every element row.
            flat_cols.append(
                F.when(col(*parts).isNotNull(), col("__rel_row") * F.lit(1000) + F.lit(len(arrays)))
                .cast("long")
                .alias(name)
            )
        else:
            flat_cols.append(col(*parts).alias(name))
    frames[table] = df.select(*flat_cols)
    for index, (name, parts) in enumerate(arrays, start=1):
        exploded = df.select(
            (col("__rel_row") * F.lit(1000) + F.lit(index)).cast("long").alias("id"),
            F.posexplode(col(*parts)).alias("index", "__element"),
        )
        element_type = _field_type(df.schema, parts)
        assert isinstance(element_type, T.ArrayType)
        value = f"{prefix}{name}.val"
        child = exploded.select(
            col("id"),
            col("index"),
            col("__element").alias("__val"),
        ).withColumn("__rel_row", F.monotonically_increasing_id())
        child = child.localCheckpoint(eager=True)
        # Flatten the element under the name "<array>.val" (struct fields: "<array>.val.f").
        child = child.select(col("id"), col("index"), col("__val").alias(value), col("__rel_row"))
        _relationalize(child, f"{table}_{name}", "", frames)


def _field_type(schema: T.StructType, parts: list[str]) -> T.DataType:
    dtype: T.DataType = schema
    for part in parts:
        assert isinstance(dtype, T.StructType)
        dtype = dtype[part].dataType
    return dtype
