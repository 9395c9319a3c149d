"""The feedback database: ratings users post, the lists the server served, and the online hit rate.

SQLAlchemy 2 Core over any URL; the default is an SQLite file (WAL journal, so readers never wait for the writer).
The schema is created on first start and versioned in ``cofirec_meta``; a database written by another schema
version is refused with a clear error instead of being misread.

Online evaluation: every served list is stored (user, items, model version, time). A list counts as a *hit* when
feedback on one of its items arrives from the same user at or after the time it was served.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from cofirec.errors import ConfigError

SCHEMA_VERSION = 1

metadata = sa.MetaData()
meta_table = sa.Table(
    "cofirec_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)
feedback_table = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(256), nullable=False, index=True),
    sa.Column("item_id", sa.String(256), nullable=False),
    sa.Column("rating", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
served_table = sa.Table(
    "served",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(256), nullable=False, index=True),
    sa.Column("model_version", sa.String(128), nullable=False, index=True),
    sa.Column("n_items", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
served_items_table = sa.Table(
    "served_items",
    metadata,
    sa.Column("served_id", sa.Integer, sa.ForeignKey("served.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("item_id", sa.String(256), nullable=False),
)
sa.Index("ix_served_items_item", served_items_table.c.item_id)
sa.Index("ix_feedback_user_item", feedback_table.c.user_id, feedback_table.c.item_id)


@dataclass(frozen=True)
class Rating:
    item: str
    rating: float
    created_at: float


@dataclass(frozen=True)
class HitRate:
    model_version: str
    lists: int
    hits: int

    @property
    def rate(self) -> float:
        return self.hits / self.lists if self.lists else 0.0


def default_db_url(model_dir: str | Path) -> str:
    """``sqlite:///DIR.feedback.sqlite`` beside the model folder (not inside it: retraining swaps that folder)."""
    path = Path(model_dir).resolve()
    return f"sqlite:///{path.parent / (path.name + '.feedback.sqlite')}"


def shown_url(url: str) -> str:
    """``url`` with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the given database URL"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; ``postgresql://`` uses psycopg (3). SQLite files get WAL and a busy timeout."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"--db {url!r} is not a database URL (e.g. sqlite:///feedback.sqlite or postgresql://user@host/db)") from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except sa.exc.NoSuchModuleError as exc:
        raise ConfigError(f"--db: no SQLAlchemy driver for {parsed.drivername!r}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class FeedbackStore:
    """Ratings, served lists and hit rates in one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._create_schema()

    def _create_schema(self) -> None:
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            if row is None:
                conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif row[0] != str(SCHEMA_VERSION):
                raise ConfigError(f"feedback database {self.safe_url} has schema version {row[0]}; this cofirec reads version {SCHEMA_VERSION}")

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden."""
        return shown_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ feedback
    def add_ratings(self, user: str, ratings: Iterable[tuple[str, float]]) -> int:
        now = time.time()
        rows = [{"user_id": user, "item_id": item, "rating": float(value), "created_at": now} for item, value in ratings]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(feedback_table.insert(), rows)
        return len(rows)

    def ratings_of(self, user: str) -> list[Rating]:
        """The user's stored ratings, the latest per item, oldest first."""
        t = feedback_table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.item_id, t.c.rating, t.c.created_at).where(t.c.user_id == user).order_by(t.c.id)).all()
        latest = {item: Rating(item, rating, at) for item, rating, at in rows}
        return sorted(latest.values(), key=lambda r: r.created_at)

    def count_ratings(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(feedback_table)).scalar_one())

    def count_feedback_users(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count(sa.distinct(feedback_table.c.user_id)))).scalar_one())

    def has_user(self, user: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(feedback_table.c.id).where(feedback_table.c.user_id == user).limit(1)).first() is not None

    # ------------------------------------------------------------------ served lists
    def log_served(self, user: str, items: list[str], model_version: str) -> int:
        """Store one served list now (one transaction); its id. The server queues lists instead
        (:class:`~cofirec.serve.served_log.ServedLog`, which calls :meth:`log_served_many`)."""
        return self.log_served_many([(user, items, model_version, time.time())])[0]

    def log_served_many(self, rows: list[tuple[str, list[str], str, float]]) -> list[int]:
        """Store served lists ``(user, items, model version, serving time)`` in one transaction; their ids."""
        if not rows:
            return []
        lists = [{"user_id": u, "model_version": v, "n_items": len(items), "created_at": float(t)} for u, items, v, t in rows]
        with self.engine.begin() as conn:
            if conn.dialect.insert_executemany_returning_sort_by_parameter_order:
                ids = conn.execute(served_table.insert().returning(served_table.c.id, sort_by_parameter_order=True), lists).scalars().all()
            else:  # a backend without ordered RETURNING: one insert per list, still one transaction
                ids = [conn.execute(served_table.insert().values(**row)).inserted_primary_key[0] for row in lists]  # type: ignore[index]
            item_rows = [{"served_id": int(sid), "position": k, "item_id": item} for sid, (_, items, _, _) in zip(ids, rows) for k, item in enumerate(items)]
            if item_rows:
                conn.execute(served_items_table.insert(), item_rows)
        return [int(i) for i in ids]

    def hit_rates(self, last: int = 1000) -> list[HitRate]:
        """Per model version, of its ``last`` most recent served lists: how many got feedback on a served item
        from the same user at or after serving time."""
        s, si, f = served_table, served_items_table, feedback_table
        rank = sa.func.row_number().over(partition_by=s.c.model_version, order_by=s.c.id.desc()).label("rank")
        recent = sa.select(s.c.id, s.c.user_id, s.c.model_version, s.c.created_at, rank).subquery()
        hit = (
            sa.select(si.c.served_id)
            .select_from(si)
            .join(f, sa.and_(f.c.item_id == si.c.item_id, f.c.user_id == recent.c.user_id, f.c.created_at >= recent.c.created_at))
            .where(si.c.served_id == recent.c.id)
            .exists()
        )
        query = (
            sa.select(recent.c.model_version, sa.func.count(), sa.func.sum(sa.case((hit, 1), else_=0)))
            .where(recent.c.rank <= last)
            .group_by(recent.c.model_version)
            .order_by(recent.c.model_version)
        )
        with self.engine.connect() as conn:
            return [HitRate(v, int(n), int(h or 0)) for v, n, h in conn.execute(query).all()]
