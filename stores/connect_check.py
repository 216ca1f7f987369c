"""The check before connecting: once a destination pastes a source's key (or an invitation
code), it sees how its variants compare with that source's visible catalogue — what will match
by SKU or barcode, duplicates, blanks, near matches, products whose variant counts differ —
before it confirms the connection.

Nothing about the connection is written before the merchant confirms: the key is checked as
`connection_create` would check it (every time the check is shown, polls included), and the
figures are all the destination gets of the source. The comparison lives in products (the
source catalogue mirror and the destination's catalogue read), which stores may not import:
products registers the checker here in its AppConfig.ready(), the way the readers of
`stores.registry` are registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from stores.connections import connection_source_for_key
from stores.models import Connection, Shop


class CheckState:
    PREPARING = "preparing"  # a catalogue is being read: the check polls
    READY = "ready"
    FAILED = "failed"  # the destination's catalogue could not be read


@dataclass(frozen=True)
class Duplicate:
    side: str  # "source" | "destination"
    value: str
    count: int
    products: list[str]


@dataclass(frozen=True)
class NearMatch:
    destination_value: str
    source_value: str
    destination_product: str
    source_product: str


@dataclass(frozen=True)
class VariantCountMismatch:
    source_product: str
    destination_product: str
    source_variants: int
    destination_variants: int
    matched: int


@dataclass(frozen=True)
class Conflict:
    value: str
    reason: str


@dataclass(frozen=True)
class ConnectCheck:
    """What a destination is shown of a source before connecting. Counts are exact; each list
    holds its first LIST_LIMIT items (the count says how many there are)."""

    state: str
    key: str = Connection.MatchBy.SKU
    detail: str = ""  # what is being read, or why the read failed
    read_at: datetime | None = None  # when the destination's catalogue was read
    source_variants: int = 0
    destination_variants: int = 0
    match_count: int = 0
    match_products: int = 0
    duplicate_count: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    blank_source: int = 0
    blank_destination: int = 0
    blank_source_products: list[str] = field(default_factory=list)
    blank_destination_products: list[str] = field(default_factory=list)
    near_count: int = 0
    near: list[NearMatch] = field(default_factory=list)
    mismatch_count: int = 0
    mismatches: list[VariantCountMismatch] = field(default_factory=list)
    conflict_count: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    unmatched_source: int = 0
    unmatched_destination: int = 0

    # Items past each list's first LIST_LIMIT (the page says "and N more").
    @property
    def duplicates_more(self) -> int:
        return self.duplicate_count - len(self.duplicates)

    @property
    def near_more(self) -> int:
        return self.near_count - len(self.near)

    @property
    def mismatches_more(self) -> int:
        return self.mismatch_count - len(self.mismatches)

    @property
    def conflicts_more(self) -> int:
        return self.conflict_count - len(self.conflicts)

    @property
    def blank_count(self) -> int:
        return self.blank_source + self.blank_destination

    @property
    def failed(self) -> bool:
        return self.state == CheckState.FAILED

    @property
    def ready(self) -> bool:
        return self.state == CheckState.READY

    @property
    def preparing(self) -> bool:
        return self.state == CheckState.PREPARING


LIST_LIMIT = 20

# `checker(*, destination: Shop, source: Shop, key: str, read_again: bool) -> ConnectCheck`:
# compares the destination's catalogue with the source's visible one by `key`, starting a
# fresh read of the destination's catalogue when it has none recent (or `read_again`).
ConnectChecker = Callable[..., ConnectCheck]

_checkers: list[ConnectChecker] = []


def connect_checker_register(checker: ConnectChecker) -> ConnectChecker:
    """Registers `checker` (the last registered answers); usable as a decorator."""
    if checker not in _checkers:
        _checkers.append(checker)
    return checker


@dataclass(frozen=True)
class KeyCheck:
    source: Shop
    check: ConnectCheck | None  # None: no checker registered, nothing to compare


def connect_check_run(*, destination: Shop, store_key: str, key: str | None = None,
                      read_again: bool = False) -> KeyCheck:
    """The check for the source `store_key` opens; ConnectionRefused, with nothing read or
    started, when the key would not connect. `key`: SKU or barcode (default: what the
    destination's earlier connection to this source matched by, else SKU)."""
    source = connection_source_for_key(destination=destination, store_key=store_key)
    if key not in Connection.MatchBy.values:
        earlier = Connection.objects.filter(source=source, destination=destination).first()
        key = earlier.match_by if earlier is not None else Connection.MatchBy.SKU
    if not _checkers:
        return KeyCheck(source=source, check=None)
    return KeyCheck(source=source, check=_checkers[-1](destination=destination, source=source,
                                                       key=key, read_again=read_again))
