"""The home folder: configuration, keys and (by default) the SQLite file.

Layout (docs/design.md §8)::

    HOME/ledger.json      origin, genesis principal and public key
    HOME/keys/NAME.key    key files made by init and demo (mode 0600)
    HOME/keys/log.key     the log's first signing key (used by the integrity log)
    HOME/keys/log-N.key   the log keys of later hand-overs (docs/decisions.md 33)
    HOME/keys/ledger.key  the ledger principal's key (signs access-log seals)
    HOME/ledger.sqlite    the entries, unless PMM_DATABASE_URL is set

The folder is 0700 and every file the ledger makes in it 0600 (ledger/files.py).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.application import Ledger, Recorded
from ledger.dialect import dialect_of
from ledger.errors import ConfigurationError
from ledger.files import FOLDER_MODE, private_folder, write_private
from ledger.keys import KeyPair
from ledger.log_keys import LOG_KEY, load_log_keys
from ledger.persistence import Settings
from ledger.storage_faults import guarded_open
from verify.errors import VerifyError
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.policy_text import TrustPolicy, parse_policy

CONFIG_FILE = "ledger.json"
# A new ledger's default origin: unique, and in the reserved .invalid domain
# (RFC 2606) so that it names no real host (docs/decisions.md 21).
ORIGIN_DOMAIN = "pmm-ledger.invalid"
POLICY_FILE = "witness-policy.txt"
KEYS_DIR = "keys"
LEDGER_PRINCIPAL = "ledger"  # the ledger's own principal; it seals the access log


@dataclass(frozen=True)
class HomeConfig:
    origin: str
    genesis_principal: str
    genesis_public_key: str


def key_path(settings: Settings, name: str) -> Path:
    return settings.home / KEYS_DIR / f"{name}.key"


def resolve_key(settings: Settings, name_or_path: str) -> KeyPair:
    """``--as KEY``: a key file path, or the name of a key in the home folder."""
    path = Path(name_or_path)
    if not path.is_file() and key_path(settings, name_or_path).exists():
        path = key_path(settings, name_or_path)
    return KeyPair.load(path)


def new_origin() -> str:
    """A fresh, unique origin: a schema-less URL without spaces or '+', as the
    C2SP tlog-checkpoint origin line and signed-note key names require."""
    return f"{ORIGIN_DOMAIN}/{secrets.token_hex(8)}"


def write_config(settings: Settings, config: HomeConfig) -> None:
    path = settings.home / CONFIG_FILE
    if path.exists():
        raise ConfigurationError(f"{settings.home} already holds a ledger ({path})")
    private_home(settings)
    data = {
        "genesis_principal": config.genesis_principal,
        "genesis_public_key": config.genesis_public_key,
        "origin": config.origin,
    }
    try:
        write_private(path, (json.dumps(data, indent=2) + "\n").encode())
    except FileExistsError:
        raise ConfigurationError(
            f"{settings.home} already holds a ledger ({path})"
        ) from None


def private_home(settings: Settings) -> None:
    """The home folder, 0700: created so, or narrowed to it before anything of
    the ledger is written into it (docs/decisions.md 20)."""
    private_folder(settings.home)
    if settings.home.stat().st_mode & 0o077:
        settings.home.chmod(FOLDER_MODE)


def read_config(settings: Settings) -> HomeConfig:
    path = settings.home / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
        return HomeConfig(
            str(data["origin"]),
            str(data["genesis_principal"]),
            str(data["genesis_public_key"]),
        )
    except FileNotFoundError:
        raise ConfigurationError(
            f"no ledger in {settings.home}: run `pmm init` (or pass --home)"
        ) from None
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(f"{path} is unreadable: {exc}") from None


def read_policy(settings: Settings) -> TrustPolicy | None:
    """HOME/witness-policy.txt (C2SP tlog-policy), if the ledger has witnesses.
    Its log line names the log's first key; what the ledger checks its own
    checkpoints against is ``current_policy``."""
    path = settings.home / POLICY_FILE
    if not path.exists():
        return None
    try:
        return parse_policy(path.read_bytes())
    except VerifyError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


def current_policy(ledger: Ledger) -> TrustPolicy | None:
    """The home's witness policy over the log key that signs now (after a
    hand-over, docs/decisions.md 33), or None without witnesses."""
    found = read_policy(ledger.settings)
    if found is None:
        return None
    return found.with_log(Ed25519Verifier.from_vkey(ledger.log_vkey()))


def open_ledger(settings: Settings, *, integrate: bool = True) -> Ledger:
    """The ledger of an initialised home folder. ``integrate=False`` opens it
    as it is, for a reader that must not repair it first: the live verifier,
    which would otherwise stop at damage the integration trips on."""
    config = read_config(settings)
    # log.key, and the later log-N.key of each hand-over (docs/decisions.md 33)
    first, later = load_log_keys(settings.home / KEYS_DIR)
    sealer = KeyPair.load(key_path(settings, LEDGER_PRINCIPAL))
    policy = read_policy(settings)
    # The database down, locked, full, or read-only (its folder, for SQLite).
    with guarded_open(dialect_of(settings).folder(settings)):
        return Ledger(
            settings,
            config.origin,
            first,
            policy,
            sealer,
            integrate=integrate,
            later_log_keys=later,
        )


def admin_names(first: str, count: int) -> list[str]:
    """The genesis admins' principal ids: ``admin``, ``admin-2``, ``admin-3``..."""
    return [first, *(f"{first}-{n}" for n in range(2, count + 1))]


def init_ledger(
    settings: Settings,
    origin: str,
    admin: str = "admin",
    *,
    admins: int = 3,
    threshold: int = 2,
) -> Ledger:
    """A new ledger: the genesis admins' keys (``admins`` of them, ``threshold``
    of whom must agree to change the registry), the ledger's own key, the log
    key, the origin, and the genesis entry (docs/decisions.md, decision 15)."""
    if (settings.home / CONFIG_FILE).exists():
        raise ConfigurationError(f"{settings.home} already holds a ledger")
    if not 1 <= threshold <= admins:
        raise ConfigurationError(
            f"--threshold {threshold} must be between 1 and --admins {admins}"
        )
    if {LEDGER_PRINCIPAL, LOG_KEY} & set(admin_names(admin, admins)):
        raise ConfigurationError(
            f"--admin {admin!r}: {LEDGER_PRINCIPAL!r} and {LOG_KEY!r} name the ledger's "
            "own keys; choose another name for the genesis admin"
        )
    admin_keys = [KeyPair.generate(name) for name in admin_names(admin, admins)]
    ledger_key = KeyPair.generate(LEDGER_PRINCIPAL)
    log_key = KeyPair.generate(LOG_KEY)
    with guarded_open():
        private_home(settings)
        ledger = Ledger(settings, origin, log_key, sealer=ledger_key)
    if ledger.log_size():
        ledger.close()
        raise ConfigurationError(
            "the database already holds entries; point PMM_DATABASE_URL at an empty "
            "database (or schema) for a new ledger"
        )
    for key in [*admin_keys, ledger_key, log_key]:
        key.save(key_path(settings, key.principal))
    first = admin_keys[0]
    write_config(settings, HomeConfig(origin, first.principal, first.public_key))
    genesis(ledger, admin_keys, ledger_key, threshold)
    return ledger


def genesis(
    ledger: Ledger, admin_keys: Sequence[KeyPair], ledger_key: KeyPair, threshold: int
) -> Recorded:
    """A new ledger's first entry: the registry's genesis, signed by the first
    admin, naming the genesis admins, the ledger's own principal and the admins'
    threshold (docs/design.md §3, docs/decisions.md decision 15)."""
    first = admin_keys[0]
    named = [
        {
            "name": "Genesis administrator" if n == 0 else f"Genesis administrator {n + 1}",
            "principal": key.principal,
            "public_key": key.public_key,
        }
        for n, key in enumerate(admin_keys)
    ]
    body = {
        "admins": named,
        "ledger": {
            "name": "The ledger (seals the access log)",
            "principal": LEDGER_PRINCIPAL,
            "public_key": ledger_key.public_key,
        },
        "threshold": threshold,
    }
    statement = first.statement(ledger.origin, "registry", "registry.genesis", body, 0)
    return ledger.record(first.sign(statement))
